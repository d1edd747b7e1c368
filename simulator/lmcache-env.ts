// LMCache's configuration from its environment variables, as LMCache reads them, into the CPU tier
// the simulator runs. The tier exists when --kv-transfer-config names an LMCache connector, the
// local CPU backend is on (LMCACHE_LOCAL_CPU, default true) and LMCACHE_MAX_LOCAL_CPU_SIZE (GiB per
// device, LMCache's default 5) is above zero.
import { UserError } from '../domain/errors.ts';
import { GiB, cpuChunkCapacity } from './memory.ts';
import { type ConversationEvictionConfig, DEFAULT_CONVERSATION_EVICTION, type EvictionPolicy } from './cpu-tier.ts';

export interface CpuTierSettings {
  /** Bytes of the tier on each device's LMCache worker. */
  sizeBytes: number;
  chunkSize: number;
  /** Bytes of one chunk on one device. */
  chunkBytes: number;
  capacityChunks: number;
  saveDecodeCache: boolean;
  policy: EvictionPolicy;
}

function bool(name: string, v: string | undefined, fallback: boolean): boolean {
  if (v === undefined || v === '') return fallback;
  if (/^(true|1|yes|on)$/i.test(v)) return true;
  if (/^(false|0|no|off)$/i.test(v)) return false;
  throw new UserError(`${name}: expected True or False, got '${v}'`);
}

const EVICTION_KEYS: readonly (keyof ConversationEvictionConfig)[] = ['reference_recency', 'reference_time_interval', 'score_factor'];

/** LMCACHE_EXTRA_CONFIG: {"use_conversation_eviction": bool, "conversation_eviction_config": {...}}. */
export function parseExtraConfig(v: string | undefined, notices: string[]): EvictionPolicy {
  if (v === undefined || v.trim() === '') return { kind: 'lru' };
  let raw: unknown;
  try {
    raw = JSON.parse(v);
  } catch (error) {
    throw new UserError(`LMCACHE_EXTRA_CONFIG: not valid JSON (${(error as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UserError('LMCACHE_EXTRA_CONFIG: expected a JSON object');
  const o = raw as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (key !== 'use_conversation_eviction' && key !== 'conversation_eviction_config') notices.push(`LMCACHE_EXTRA_CONFIG: key '${key}' has no effect in the simulator`);
  }
  const use = o.use_conversation_eviction ?? false;
  if (typeof use !== 'boolean') throw new UserError('LMCACHE_EXTRA_CONFIG: use_conversation_eviction must be true or false');
  const given = o.conversation_eviction_config ?? {};
  if (typeof given !== 'object' || given === null || Array.isArray(given)) throw new UserError('LMCACHE_EXTRA_CONFIG: conversation_eviction_config must be an object');
  const config: ConversationEvictionConfig = { ...DEFAULT_CONVERSATION_EVICTION };
  for (const [key, value] of Object.entries(given)) {
    if (!EVICTION_KEYS.includes(key as keyof ConversationEvictionConfig)) {
      throw new UserError(`LMCACHE_EXTRA_CONFIG: unknown conversation_eviction_config key '${key}' (known: ${EVICTION_KEYS.join(', ')})`);
    }
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new UserError(`LMCACHE_EXTRA_CONFIG: conversation_eviction_config.${key} must be a number >= 0`);
    }
    config[key as keyof ConversationEvictionConfig] = value;
  }
  if (!use && Object.keys(given).length > 0) notices.push('LMCACHE_EXTRA_CONFIG: conversation_eviction_config is ignored without use_conversation_eviction');
  return use ? { kind: 'conversation_aware', config } : { kind: 'lru' };
}

export function resolveLmcache(
  env: NodeJS.ProcessEnv,
  kvTransfer: Record<string, unknown> | undefined,
  device: { tensorParallel: number; kvBytesPerTokenPerDevice: number },
  notices: string[],
): CpuTierSettings | undefined {
  const connector = kvTransfer ? String(kvTransfer.kv_connector) : undefined;
  const lmcache = connector !== undefined && /lmcache/i.test(connector);
  const anyLmcacheEnv = Object.keys(env).some((k) => k.startsWith('LMCACHE_'));
  if (!lmcache) {
    if (connector !== undefined) notices.push(`KV connector '${connector}' is not simulated: no external cache tier`);
    else if (anyLmcacheEnv) notices.push('LMCACHE_* variables are set but --kv-transfer-config names no LMCache connector: no CPU tier');
    return undefined;
  }
  const chunkRaw = env.LMCACHE_CHUNK_SIZE ?? '256';
  const chunkSize = Number(chunkRaw);
  if (!Number.isInteger(chunkSize) || chunkSize <= 0) throw new UserError(`LMCACHE_CHUNK_SIZE: expected a positive integer, got '${chunkRaw}'`);
  const sizeRaw = env.LMCACHE_MAX_LOCAL_CPU_SIZE ?? '5.0';
  const sizeGiB = Number(sizeRaw);
  if (sizeRaw.trim() === '' || !Number.isFinite(sizeGiB) || sizeGiB < 0) throw new UserError(`LMCACHE_MAX_LOCAL_CPU_SIZE: expected a size in GB >= 0, got '${sizeRaw}'`);
  const localCpu = bool('LMCACHE_LOCAL_CPU', env.LMCACHE_LOCAL_CPU, true);
  const saveDecodeCache = bool('LMCACHE_SAVE_DECODE_CACHE', env.LMCACHE_SAVE_DECODE_CACHE, false);
  const policy = parseExtraConfig(env.LMCACHE_EXTRA_CONFIG, notices);
  if (env.LMCACHE_CONFIG_FILE) notices.push('LMCACHE_CONFIG_FILE is not read by the simulator: configure it with LMCACHE_* variables');
  if (!localCpu || sizeGiB === 0) {
    notices.push(`LMCache CPU tier off (${!localCpu ? 'LMCACHE_LOCAL_CPU=False' : 'LMCACHE_MAX_LOCAL_CPU_SIZE=0'})`);
    return undefined;
  }
  const sizeBytes = sizeGiB * GiB;
  const chunkBytes = chunkSize * device.kvBytesPerTokenPerDevice;
  const capacityChunks = cpuChunkCapacity(sizeBytes, chunkSize, device.kvBytesPerTokenPerDevice);
  if (capacityChunks === 0) notices.push(`LMCACHE_MAX_LOCAL_CPU_SIZE=${sizeRaw} GB holds no chunk of ${chunkSize} tokens (${chunkBytes} bytes): nothing will be stored`);
  return { sizeBytes, chunkSize, chunkBytes, capacityChunks, saveDecodeCache, policy };
}
