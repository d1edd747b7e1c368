// `kvsweep sim serve MODEL ...`: the vLLM-compatible simulator, started exactly as `vllm serve`
// would be. Parses and checks flags and environment, logs vLLM's start-up lines in vLLM's order,
// serves until SIGTERM/SIGINT (exit 0) or a simulated crash (exit 1).
// Kept lean: start-up time is a sweep's GPU idle time, so nothing heavy is imported.
import { createServer } from 'node:net';
import { Command, CommanderError, Option } from 'commander';
import { UserError } from '../domain/errors.ts';
import { IGNORED_BOOLEAN_FLAGS, IGNORED_VALUE_FLAGS, attributeName, normalizeArgv } from './argv.ts';
import { type RawOptions, type SimConfig, resolveConfig } from './config.ts';
import { log } from './log.ts';
import { GiB } from './memory.ts';
import { SIM_VERSION, SimServer } from './server.ts';

function buildServeCommand(run: (model: string | undefined, opts: RawOptions, cmd: Command) => Promise<void>): Command {
  const serve = new Command('serve')
    .description('serve a simulated model with vLLM\'s flags, HTTP API, log lines and metrics')
    .argument('[model]', 'registry model name (e.g. Qwen/Qwen3-8B-FP8, kvsweep/sim-small) or a directory with a config.json')
    .option('--model <model>', 'the model, when not given as the argument')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free port, printed in the first log line)', '8000')
    .option('--served-model-name <names...>', 'names clients use for the model (default: MODEL)')
    .option('--max-model-len <n>', 'context length (default: the model\'s); 32k = 32000, 32K = 32768')
    .option('--tensor-parallel-size <n>', 'tensor-parallel devices (-tp)', '1')
    .option('--pipeline-parallel-size <n>', 'pipeline stages (-pp)', '1')
    .option('--gpu-memory-utilization <f>', 'share of each device\'s memory for weights, activations and KV cache', '0.9')
    .option('--num-gpu-blocks-override <n>', 'GPU KV blocks, instead of sizing them from memory')
    .option('--block-size <n>', 'tokens per KV block', '16')
    .option('--enable-prefix-caching', 'prefix caching (on by default, as in vLLM V1)', true)
    .option('--no-enable-prefix-caching', 'turn prefix caching off')
    .option('--kv-transfer-config <json>', 'KV connector; an LMCache connector turns the CPU tier on')
    .option('--max-num-seqs <n>', 'running requests at most', '1024')
    .option('--max-num-batched-tokens <n>', 'tokens per engine step at most (prefill chunk budget)', '8192')
    .option('--dtype <dtype>', 'model dtype: auto, half, float16, bfloat16, float32', 'auto')
    .option('--kv-cache-dtype <dtype>', 'KV cache dtype: auto, fp8, fp8_e4m3, fp8_e5m2', 'auto')
    .option('--quantization <method>', 'fp8 halves 16-bit weights (-q)')
    .option('--seed <n>', 'seed of generated text and injected errors', '0')
    .addOption(new Option('--gpu-memory-gb <gb>', '[sim] memory of each simulated device, GiB').default('80'))
    .addOption(new Option('--hbm-bandwidth-gbs <gbs>', '[sim] effective HBM bandwidth, GB/s (default 2700)'))
    .addOption(new Option('--compute-tflops <tflops>', '[sim] effective 16-bit TFLOP/s, doubled for FP8 (default 500)'))
    .addOption(new Option('--pcie-bandwidth-gbs <gbs>', '[sim] host-to-device rate of LMCache loads, GB/s (default 25)'))
    .addOption(new Option('--step-overhead-ms <ms>', '[sim] fixed cost of an engine step (default 1.5)'))
    .addOption(new Option('--speed <x>', "[sim] divide every simulated time by X; 'inf' = unlimited, no waiting").default('1'))
    .addOption(new Option('--fixed-ttft-ms <ms>', '[sim] every request\'s first token exactly this long after admission'))
    .addOption(new Option('--fixed-itl-ms <ms>', '[sim] then one token every this many ms'))
    .addOption(new Option('--startup-delay <s>', '[sim] simulated model loading time before HTTP answers, seconds').default('0'))
    .addOption(new Option('--fail-startup', '[sim] fault: exit 1 during start-up').default(false))
    .addOption(new Option('--never-ready', '[sim] fault: listen, but /health stays 503 and start-up never completes').default(false))
    .addOption(new Option('--crash-after-requests <n>', '[sim] fault: exit 1 once N requests have been served'))
    .addOption(new Option('--error-rate <f>', '[sim] fault: answer this share of generation requests with HTTP 500').default('0'))
    .addOption(new Option('--no-counter-total-suffix', '[sim] name counters without _total, as some simulators do'))
    .addOption(new Option('--access-log', '[sim] log one uvicorn line per HTTP request').default(false))
    .addOption(new Option('--lmcache-stats-endpoint', "[sim] serve GET /lmcache/stats as the LMCache fork does (on this port)").default(false));
  for (const flag of IGNORED_VALUE_FLAGS) serve.addOption(new Option(`--${flag} <value>`).hideHelp());
  for (const flag of IGNORED_BOOLEAN_FLAGS) serve.addOption(new Option(`--${flag}`).hideHelp());
  serve.addHelpText('after', '\nOther vllm serve flags (--enable-chunked-prefill, --disable-log-requests, ...) are accepted with a notice.\nEnvironment: CUDA_VISIBLE_DEVICES, VLLM_SERVER_DEV_MODE, LMCACHE_*, PROMETHEUS_MULTIPROC_DIR. See docs/simulator.md.');
  serve.action(async (model: string | undefined, opts: RawOptions, cmd: Command) => run(model, opts, cmd));
  return serve;
}

/** Binds and releases host:port, so a port in use is an error before start-up; resolves port 0. */
function probePort(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      reject(new UserError(`--port ${port}: cannot listen on ${host}:${port} (${error.code === 'EADDRINUSE' ? 'address already in use' : error.message})`, 1));
    });
    probe.listen(port, host, () => {
      const bound = (probe.address() as { port: number }).port;
      probe.close(() => resolve(bound));
    });
  });
}

/** 1234567 -> "1,234,567" (without loading Intl at start-up). */
const thousands = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

function describe(c: SimConfig): string[] {
  const g = c.geometry;
  const tokens = (c.numGpuBlocks - 1) * c.blockSize;
  const lines = [
    `vLLM API server version ${SIM_VERSION} (kvsweep simulator)`,
    `model=${c.model} served as ${c.servedModelNames.join(', ')}: ${g.layers} layers, ${g.kvHeads} KV heads x ${g.headDim}, ` +
      `${c.kvBytesPerToken} KV bytes per token, weights ${(c.weightBytes / GiB / (c.tensorParallel * c.pipelineParallel)).toFixed(2)} GiB per device, ` +
      `tensor_parallel_size=${c.tensorParallel}, pipeline_parallel_size=${c.pipelineParallel}`,
    `# GPU blocks: ${c.numGpuBlocks}, block size ${c.blockSize}, prefix caching ${c.prefixCaching ? 'on' : 'off'}`,
    `GPU KV cache size: ${thousands(tokens)} tokens`,
    `Maximum concurrency for ${thousands(c.maxModelLen)} tokens per request: ${(tokens / c.maxModelLen).toFixed(2)}x`,
  ];
  const t = c.cpuTier;
  if (t) {
    const p = t.policy;
    const policy = p.kind === 'conversation_aware' ? `conversation_aware ${JSON.stringify(p.config)}` : p.kind === 'scored' ? p.name : 'lru';
    lines.push(
      `LMCache CPU tier: ${(t.sizeBytes / GiB).toFixed(3)} GiB per device = ${t.capacityChunks} chunks of ${t.chunkSize} tokens, ` +
        `eviction ${policy}, save decode cache ${t.saveDecodeCache}`,
    );
  }
  const timing = c.fixed
    ? `fixed TTFT ${c.fixed.ttftSeconds * 1000} ms, ITL ${c.fixed.itlSeconds * 1000} ms`
    : `roofline model (HBM ${c.hardware.hbmBytesPerSecond / 1e9} GB/s, ${c.hardware.flopsPerSecond / 1e12} TFLOP/s, PCIe ${c.hardware.pcieBytesPerSecond / 1e9} GB/s, step overhead ${c.hardware.stepOverheadSeconds * 1000} ms)`;
  lines.push(`Timing: ${timing}, speed ${Number.isFinite(c.speed) ? `x${c.speed}` : 'unlimited'}, seed ${c.seed}`);
  if (c.devMode) lines.push('VLLM_SERVER_DEV_MODE: POST /reset_prefix_cache is enabled');
  if (t) {
    lines.push(
      c.lmcacheOnMetrics
        ? 'PROMETHEUS_MULTIPROC_DIR is set: /metrics shows the lmcache:* series (Prometheus multiprocess mode)'
        : "PROMETHEUS_MULTIPROC_DIR is not set: /metrics has no lmcache:* series (as vLLM V1, where they live in the engine-core process)",
    );
  }
  if (c.lmcacheStatsEndpoint) lines.push('--lmcache-stats-endpoint: GET /lmcache/stats answers as the LMCache fork does');
  return lines;
}

async function serve(model: string | undefined, opts: RawOptions & { model?: string }, cmd: Command): Promise<number> {
  const name = model ?? opts.model;
  if (!name) throw new UserError('sim serve: MODEL is required (kvsweep sim serve MODEL --port P ...)');
  const config = resolveConfig(name, opts, process.env);
  for (const flag of [...IGNORED_VALUE_FLAGS, ...IGNORED_BOOLEAN_FLAGS]) {
    const attr = attributeName(flag.replace(/^no-/, ''));
    if (cmd.getOptionValueSource(attr) === 'cli') config.notices.push(`--${flag} is accepted for compatibility with vllm serve and has no effect in the simulator`);
  }
  let signalled: (signal: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => (signalled = resolve));
  const onSignal = (signal: NodeJS.Signals): void => signalled(signal);
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  /** Waits `seconds`; resolves early with the signal's name if one arrives. */
  const sleep = (seconds: number): Promise<string | undefined> => {
    let timer: NodeJS.Timeout | undefined;
    const slept = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), seconds * 1000)));
    return Promise.race([stopped, slept]).finally(() => clearTimeout(timer));
  };
  try {
    config.port = await probePort(config.host, config.port);
    // vLLM's order: this line first, HTTP only after start-up, "Application startup complete." last.
    log.info(`Starting vLLM API server 0 on http://${config.host}:${config.port}`);
    for (const line of describe(config)) log.info(line);
    for (const notice of config.notices) log.warn(notice);
    const delay = Number.isFinite(config.speed) ? config.startupDelaySeconds / config.speed : 0;
    const interrupted = (signal: string): number => {
      log.info(`Shutting down during start-up (${signal})`);
      return 0;
    };
    if (config.faults.failStartup) {
      const signal = await sleep(delay / 2);
      if (signal !== undefined) return interrupted(signal);
      log.error('EngineCore failed to start: simulated start-up failure (--fail-startup)');
      return 1;
    }
    if (delay > 0) {
      log.info(`Loading weights (simulated, ${delay.toFixed(2)} s)`);
      const signal = await sleep(delay);
      if (signal !== undefined) return interrupted(signal);
    }
    let crashed: (reason: string) => void = () => {};
    const crash = new Promise<string>((resolve) => (crashed = resolve));
    const server = new SimServer(config, (reason) => crashed(reason));
    try {
      await server.listen();
    } catch (error) {
      throw new UserError(`--port ${config.port}: cannot listen on ${config.host}:${config.port} (${(error as Error).message})`, 1);
    }
    log.uvicorn(`Started server process [${process.pid}]`);
    log.uvicorn('Waiting for application startup.');
    if (config.faults.neverReady) {
      log.warn('--never-ready: start-up will not complete and /health answers 503');
    } else {
      server.ready = true;
      log.uvicorn('Application startup complete.');
    }
    log.uvicorn(`Uvicorn running on http://${config.host}:${config.port} (Press CTRL+C to quit)`);
    server.startStatsLog();
    const outcome = await Promise.race([stopped.then((s) => ({ signal: s })), crash.then((reason) => ({ crash: reason }))]);
    if ('crash' in outcome) {
      log.error(`EngineCore encountered a fatal error: ${outcome.crash}`);
      server.ready = false;
      await server.close();
      return 1;
    }
    log.uvicorn('Shutting down');
    await server.close();
    log.uvicorn('Application shutdown complete.');
    log.uvicorn(`Finished server process [${process.pid}]`);
    return 0;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

/** `kvsweep sim ...`; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  let errText = '';
  const program = new Command('kvsweep sim')
    .description('the vLLM-compatible simulator')
    .exitOverride()
    .configureOutput({ writeErr: (s) => (errText += s) })
    .showHelpAfterError(false);
  const serveCommand = buildServeCommand(async (model, opts, cmd) => {
    code = await serve(model, opts, cmd);
  });
  serveCommand.exitOverride().configureOutput({ writeErr: (s) => (errText += s) });
  program.addCommand(serveCommand);
  if (argv.length === 0) {
    console.log(program.helpInformation());
    return 2;
  }
  try {
    await program.parseAsync(normalizeArgv(argv), { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.help' || error.code === 'commander.version') return 0;
      throw new UserError(`sim: ${(errText.trim() || error.message).replace(/^error: /, '')}`);
    }
    throw error;
  }
  return code;
}
