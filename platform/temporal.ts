// Connection settings shared by the CLI and workers: TEMPORAL_ADDRESS (default 127.0.0.1:7233)
// and TEMPORAL_NAMESPACE (default `default`), the variables the Temporal CLI itself reads.
import { Client, Connection } from '@temporalio/client';
import { SearchAttributeTypes } from '../domain/names.ts';
import { createConnection } from 'node:net';

export function temporalAddress(): string {
  return process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
}

export function temporalNamespace(): string {
  return process.env.TEMPORAL_NAMESPACE ?? 'default';
}

export function splitAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(address.slice(at + 1)) };
}

/** True when something accepts TCP connections at the address (a quick check before gRPC). */
export function isListening(address: string, timeoutMs = 1_000): Promise<boolean> {
  const { host, port } = splitAddress(address);
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function connectClient(address = temporalAddress(), namespace = temporalNamespace()): Promise<Client> {
  const connection = await Connection.connect({ address, connectTimeout: '5s' });
  return new Client({ connection, namespace });
}

/** True when every kvsweep search attribute is registered on the client's namespace. */
export async function searchAttributesRegistered(client: Client): Promise<boolean> {
  const response = await client.connection.operatorService.listSearchAttributes({ namespace: client.options.namespace });
  const known = new Set(Object.keys(response.customAttributes ?? {}));
  return Object.keys(SearchAttributeTypes).every((name) => known.has(name));
}
