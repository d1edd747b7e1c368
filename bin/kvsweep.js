#!/usr/bin/env node
// Entry point: registers tsx so the TypeScript sources run as they are (no build step to forget),
// then hands over to the CLI, which owns parsing, errors and the exit code.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../client/cli.ts');
process.exitCode = await runCli(process.argv.slice(2));
