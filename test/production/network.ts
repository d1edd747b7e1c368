// Worker hosts as separate machines on one test machine: each in its own network namespace, wired
// to a bridge that holds the head node's address (where the Temporal frontend listens), so every
// host has its own loopback and its own port space, as GPU hosts do. Needs root (CAP_NET_ADMIN);
// the addresses are a private /24 that exists only on this machine, inside these namespaces.
import { readdirSync, readlinkSync, statSync } from 'node:fs';
import { execa } from 'execa';

export interface HostNet {
  /** Network namespace name (`ip netns exec NAME ...`). */
  ns: string;
  ip: string;
  /** argv prefix that runs a command inside the namespace. */
  prefix: string[];
}

export interface TestNetwork {
  headIp: string;
  hosts: HostNet[];
  remove: () => Promise<void>;
}

const NS_PATTERN = /^kvsweep-(\d+)-h\d+$/;
const BRIDGE_PATTERN = /^kvsb(\d+)$/;

async function ip(...args: string[]): Promise<string> {
  const result = await execa('ip', args, { reject: false, all: true });
  if (result.exitCode !== 0) throw new Error(`ip ${args.join(' ')} failed (exit ${result.exitCode}): ${result.all}`);
  return result.stdout;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Namespaces and bridges a crashed earlier run left behind (its pid is gone). */
export async function removeStaleNetworks(): Promise<void> {
  for (const line of (await ip('netns', 'list')).split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const owner = NS_PATTERN.exec(name)?.[1];
    if (owner && !alive(Number(owner))) {
      await killNamespace(name);
      await ip('netns', 'del', name).catch(() => undefined);
    }
  }
  for (const line of (await ip('-o', 'link', 'show', 'type', 'bridge')).split('\n')) {
    const name = /^\d+: ([^:@]+)/.exec(line)?.[1] ?? '';
    const owner = BRIDGE_PATTERN.exec(name)?.[1];
    if (owner && !alive(Number(owner))) await ip('link', 'del', name).catch(() => undefined);
  }
}

/** Pids of every process whose network namespace is ns (what `ip netns pids` prints). */
export function namespacePids(ns: string): number[] {
  let inode: string;
  try {
    inode = `net:[${statSync(`/run/netns/${ns}`).ino}]`;
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/net`) === inode) pids.push(Number(entry));
    } catch {
      // gone, or not readable
    }
  }
  return pids;
}

/** SIGKILLs every process in the namespace: the host loses power. */
export async function killNamespace(ns: string): Promise<number[]> {
  const pids = namespacePids(ns);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return pids;
}

/** TCP ports something listens on inside the namespace (`ss`, run in it). */
export async function listeningPorts(host: HostNet): Promise<number[]> {
  const { stdout } = await execa(host.prefix[0]!, [...host.prefix.slice(1), 'ss', '-H', '-t', '-l', '-n']);
  return stdout.split('\n').filter(Boolean).map((line) => Number(line.trim().split(/\s+/)[3]!.split(':').at(-1)));
}

/** A bridge with the head node's address and `count` namespaces on it, named after this process. */
export async function createNetwork(count: number): Promise<TestNetwork> {
  await removeStaleNetworks();
  const id = process.pid;
  const bridge = `kvsb${id}`;
  const used = await ip('-4', '-o', 'addr', 'show');
  let subnet = 20 + (id % 200);
  while (used.includes(` 10.231.${subnet}.`)) subnet = 20 + ((subnet - 19) % 200);
  const headIp = `10.231.${subnet}.1`;
  const hosts: HostNet[] = [];
  const remove = async () => {
    for (const host of hosts) {
      await killNamespace(host.ns);
      await ip('netns', 'del', host.ns).catch(() => undefined);
    }
    await ip('link', 'del', bridge).catch(() => undefined);
  };
  try {
    await ip('link', 'add', bridge, 'type', 'bridge');
    await ip('addr', 'add', `${headIp}/24`, 'dev', bridge);
    await ip('link', 'set', bridge, 'up');
    for (let i = 1; i <= count; i++) {
      const ns = `kvsweep-${id}-h${i}`;
      const outside = `kvs${id}h${i}`;
      const inside = `kvs${id}n${i}`;
      const host: HostNet = { ns, ip: `10.231.${subnet}.${10 + i}`, prefix: ['ip', 'netns', 'exec', ns] };
      await ip('netns', 'add', ns);
      hosts.push(host);
      await ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
      await ip('link', 'set', outside, 'master', bridge, 'up');
      await ip('link', 'set', inside, 'netns', ns);
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
      await ip('-n', ns, 'addr', 'add', `${host.ip}/24`, 'dev', inside);
      await ip('-n', ns, 'link', 'set', inside, 'up');
    }
  } catch (error) {
    await remove();
    throw error;
  }
  return { headIp, hosts, remove };
}
