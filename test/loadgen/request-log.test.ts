// The columnar request log must give back exactly the records requests.jsonl always had: same
// keys in the same order, nulls where nothing was measured, every ITL value of every request.
import { describe, expect, it } from 'vitest';
import { RequestLog } from '../../loadgen/request-log.ts';
import type { TraceTurn } from '../../loadgen/trace-parse.ts';

const turn = (index: number, replyTokens = 16): TraceTurn => ({
  index, offsetMs: index * 10, conversationId: `c${index}`, turn: 1, queryTokens: 20, replyTokens, modelName: null, line: index + 2,
});

describe('RequestLog', () => {
  it('gives a not-started record with nulls, an empty ITL list and the requested reply length', () => {
    const log = new RequestLog([turn(0, 7)], Float64Array.of(12.5), false);
    expect(JSON.stringify(log.record(0))).toBe(JSON.stringify({
      index: 0, conversation: 'c0', turn: 1, status: 'not_started', scheduled_ms: 12.5, due_ms: null, sent_ms: null,
      send_error_ms: null, ttft_ms: null, itl_ms: [], e2el_ms: null, prompt_tokens: null, expected_prompt_tokens: null,
      message_tokens: null, cached_tokens: null, output_tokens: null, requested_output_tokens: 7, http_status: null, error: null,
    }));
    expect(new RequestLog([turn(0, 7)], Float64Array.of(0), true).record(0).requested_output_tokens).toBe(1);
  });

  it('keeps a finished request\'s times, tokens and ITL list exactly', () => {
    const log = new RequestLog([turn(0), turn(1)], Float64Array.of(0, 0.3), false);
    log.setDue(1, 0.3);
    log.setExpectedPromptTokens(1, 31);
    log.setSent(1, 0.1 + 0.2 + 0.0001);
    log.setResponse(1, 200, 30, 0);
    log.setChunkTimes(1, 100.25, [101.5, 101.75, 103]);
    log.setEnd(1, 'ok', 3.5, 3, null);
    log.setMessageTokens(Int32Array.of(-1, 12));
    expect(JSON.stringify(log.record(1))).toBe(JSON.stringify({
      index: 1, conversation: 'c1', turn: 1, status: 'ok', scheduled_ms: 0.3, due_ms: 0.3, sent_ms: 0.1 + 0.2 + 0.0001,
      send_error_ms: 0.1 + 0.2 + 0.0001 - 0.3, ttft_ms: 101.5 - 100.25, itl_ms: [0.25, 1.25], e2el_ms: 3.5, prompt_tokens: 30,
      expected_prompt_tokens: 31, message_tokens: 12, cached_tokens: 0, output_tokens: 3, requested_output_tokens: 16, http_status: 200, error: null,
    }));
    expect(log.record(0).status).toBe('not_started');
    // -1: a message that was not counted (scheduled after the time limit).
    expect(log.record(0).message_tokens).toBeNull();
  });

  it('records failures and aborts with their error, and a due time withdrawn at the time limit', () => {
    const log = new RequestLog([turn(0), turn(1), turn(2)], Float64Array.of(0, 1, 2), false);
    log.setDue(0, 0);
    log.setSent(0, 0.5);
    log.setResponse(0, 500, null, null);
    log.setEnd(0, 'failed', null, null, 'HTTP 500: boom');
    log.setDue(1, 1);
    log.setSent(1, 1);
    log.setResponse(1, 200, null, null);
    log.setChunkTimes(1, 0, [2]);
    log.setEnd(1, 'aborted', null, 1, 'aborted: interrupted');
    log.setDue(2, 2);
    log.setDue(2, null);
    expect(log.record(0)).toMatchObject({ status: 'failed', http_status: 500, error: 'HTTP 500: boom', ttft_ms: null, itl_ms: [], output_tokens: null });
    expect(log.record(1)).toMatchObject({ status: 'aborted', ttft_ms: 2, itl_ms: [], output_tokens: 1, error: 'aborted: interrupted' });
    expect(log.record(2)).toMatchObject({ status: 'not_started', due_ms: null });
  });

  it('keeps every request\'s ITL values as the shared buffer grows', () => {
    const n = 300;
    const log = new RequestLog(Array.from({ length: n }, (_, i) => turn(i)), new Float64Array(n), false);
    for (let i = 0; i < n; i++) log.setChunkTimes(i, 0, Array.from({ length: 17 }, (_, k) => i + k * (k + 1)));
    const records = log.records();
    expect(records).toHaveLength(n);
    for (let i = 0; i < n; i++) {
      expect(records[i]!.ttft_ms).toBe(i);
      expect(records[i]!.itl_ms).toEqual(Array.from({ length: 16 }, (_, k) => 2 * (k + 1)));
    }
  });
});
