// Records read back to make decisions parse with their schema: an outcome.json that is cut short,
// partial, contradictory or about another experiment is not a success (the experiment runs again),
// and the problem names the file. Outcomes written by earlier kvsweep versions still parse.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { readOutcome } from '../../activities/control.ts';
import { ExperimentOutcome, SweepFile } from '../../domain/records.ts';
import { readRecord } from '../../platform/files.ts';
import { FIXTURE } from '../report/fixture.ts';

const fixtureIds = readdirSync(FIXTURE, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
const fixtureOutcome = (id: string) => readFileSync(join(FIXTURE, id, 'outcome.json'), 'utf8');

/** A results folder with one experiment whose outcome.json holds `text`. */
function folderWith(id: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kvsweep-records-'));
  mkdirSync(join(dir, id));
  writeFileSync(join(dir, id, 'outcome.json'), text);
  return dir;
}

describe('ExperimentOutcome', () => {
  it('parses every outcome.json of a results folder an earlier kvsweep wrote (before server_* times existed)', () => {
    expect(fixtureIds.length).toBeGreaterThan(0);
    for (const id of fixtureIds) {
      const outcome = ExperimentOutcome.parse(JSON.parse(fixtureOutcome(id)));
      expect(outcome.experiment_id).toBe(id);
      for (const attempt of outcome.attempts) expect(attempt).toHaveProperty('server_started_at');
    }
  });

  it('refuses a success that says it did not succeed, and a record without its figures or attempts', () => {
    const whole = JSON.parse(fixtureOutcome(fixtureIds[0]!));
    expect(ExperimentOutcome.safeParse({ ...whole, execution_success: false }).success).toBe(false);
    const { attempts: _a, ...noAttempts } = whole;
    expect(ExperimentOutcome.safeParse(noAttempts).success).toBe(false);
    expect(ExperimentOutcome.safeParse({ experiment_id: whole.experiment_id, status: 'succeeded', execution_time_seconds: 1 }).success).toBe(false);
  });
});

describe('readOutcome', () => {
  const id = 'sim-small_chat-a_c0.005gb_r10_lru';
  const whole = fixtureOutcome(id);

  it('returns a whole outcome as it is', async () => {
    expect((await readOutcome(folderWith(id, whole), id))?.status).toBe('succeeded');
  });

  it.each([
    ['cut short by a crash', whole.slice(0, whole.indexOf('"attempts"'))],
    ['cut right after its status', whole.slice(0, whole.indexOf('"status"') + 25)],
    ['partial: status only', JSON.stringify({ experiment_id: id, status: 'succeeded', execution_success: true })],
    ['about another experiment', whole.replaceAll(id, 'other-experiment')],
  ])('treats an outcome.json %s as not done, and says which file', async (_case, text) => {
    expect(text).toContain('"status"');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const dir = folderWith(id, text);
      expect(await readOutcome(dir, id)).toBeUndefined();
      expect(warn).toHaveBeenCalledWith(expect.stringContaining(join(dir, id, 'outcome.json')));
      expect(warn.mock.calls[0]![0]).toMatch(/counts as not done and will run again$/);
    } finally {
      warn.mockRestore();
    }
  });

  it('is undefined without a word when there is no outcome yet', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      expect(await readOutcome(mkdtempSync(join(tmpdir(), 'kvsweep-records-')), id)).toBeUndefined();
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });
});

describe('readRecord', () => {
  it('names the file and the fields that are wrong', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvsweep-records-'));
    const path = join(dir, 'sweep.json');
    writeFileSync(path, JSON.stringify({ sweep_id: 's', experiment_ids: 'a', resolved: {} }));
    const read = await readRecord(path, SweepFile);
    expect(read.state).toBe('invalid');
    expect(read.state === 'invalid' && read.problem).toMatch(new RegExp(`^${path} does not have the expected shape: experiment_ids: .*; resolved\\.tag: `));
    writeFileSync(path, '{"sweep_id": "s", "experim');
    expect(await readRecord(path, SweepFile)).toEqual({ state: 'invalid', problem: expect.stringMatching(new RegExp(`^${path} is not valid JSON \\(`)) });
    expect(await readRecord(join(dir, 'none.json'), SweepFile)).toEqual({ state: 'missing' });
  });
});
