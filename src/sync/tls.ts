import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { IClientOptions } from 'mqtt';
import type { H3lixConfig } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import type { EmbeddedBrokerTls } from './embedded-broker.js';
import { isLoopbackHost } from '../util/loopback.js';
import type { Logger } from '../util/logger.js';

/**
 * TLS material as PEM text (issue 9 item 2; docs/fleet.md "TLS"). `ca`: the CA certificates trusted
 * for the peer; `cert`/`key`: our own certificate and private key (a client's for mutual TLS, a
 * server's for a listener). Never log `key`.
 */
export interface TlsMaterial {
  ca?: string;
  cert?: string;
  key?: string;
}

/** File names of TLS material (config `broker.tls`, `broker.embedded.tls`). */
export interface TlsFiles {
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
}

function readPem(path: string, key: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(key, `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Read the files named in a config section; `section` is the dotted key for errors (`broker.tls`). */
export function readTlsFiles(files: TlsFiles, section: string): TlsMaterial {
  const out: TlsMaterial = {};
  if (files.caFile) out.ca = readPem(files.caFile, `${section}.caFile`);
  if (files.certFile) out.cert = readPem(files.certFile, `${section}.certFile`);
  if (files.keyFile) out.key = readPem(files.keyFile, `${section}.keyFile`);
  if ((out.cert === undefined) !== (out.key === undefined)) throw new ConfigError(`${section}.${out.cert ? 'keyFile' : 'certFile'}`, 'certFile and keyFile go together');
  return out;
}

/**
 * Refuse to send credentials in clear beyond this machine (issue 9 item 2): a plain-MQTT `url` whose
 * host is not loopback, when `credentials` will be sent, throws CONFIG_INVALID unless
 * `broker.allowInsecure`; with it, one warning. `what` names the client in the message.
 */
export function checkPlainUpstream(url: string, credentials: boolean, allowInsecure: boolean, what: string, logger?: Logger): void {
  if (!credentials || isTlsUrl(url)) return;
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return; // the transport reports a malformed URL itself
  }
  if (isLoopbackHost(host)) return;
  if (!allowInsecure) throw new ConfigError('broker.url', `${what} would send credentials in clear to ${url}: use mqtts:// (broker.tls), or set broker.allowInsecure: true`);
  logger?.warn({ url }, `${what}: credentials travel in clear to ${host} (broker.allowInsecure)`);
}

/** True when a URL needs TLS (`mqtts:`, `tls:`, `wss:`). */
export function isTlsUrl(url: string): boolean {
  return /^(mqtts|tls|wss):/i.test(url);
}

/**
 * The identity a verified client certificate names: its subject CN. Undefined when the peer sent no
 * certificate or it did not verify against the listener's CA (`authorized` false).
 */
export function peerIdentity(socket: TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  const cert: PeerCertificate | undefined = socket.getPeerCertificate();
  const cn = cert?.subject?.CN;
  // a CN given twice arrives as an array: no single identity, refused like none
  return typeof cn === 'string' && cn.length > 0 ? cn : undefined;
}

/** Client-side TLS: material plus the name the server's certificate must carry (default the URL host). */
export interface ClientTls extends TlsMaterial {
  serverName?: string;
}

/** mqtt.js options for `t`; the server certificate is always verified (`rejectUnauthorized`). */
export function clientTlsOptions(t: ClientTls): Partial<IClientOptions> {
  const o: Partial<IClientOptions> = { rejectUnauthorized: true };
  if (t.ca) o.ca = t.ca;
  if (t.cert) o.cert = t.cert;
  if (t.key) o.key = t.key;
  if (t.serverName) o.servername = t.serverName;
  return o;
}

/**
 * mqtt.js TLS options for one of the node's extra clients (instance, status page) on `url`: the
 * override's material (fleet mode: the node certificate), else the `broker.tls` files. Empty for a
 * plain URL.
 */
export function extraClientTls(config: H3lixConfig, url: string, override?: () => ClientTls | undefined): Partial<IClientOptions> {
  if (!isTlsUrl(url)) return {};
  const t = override ? override() : clientTlsFromConfig(config);
  return t ? clientTlsOptions(t) : {};
}

/** `broker.tls` files as client TLS (undefined when the section names none). */
export function clientTlsFromConfig(config: H3lixConfig): ClientTls | undefined {
  const c = config.broker.tls;
  const m: ClientTls = readTlsFiles(c, 'broker.tls');
  if (c.serverName) m.serverName = c.serverName;
  return Object.keys(m).length > 0 ? m : undefined;
}

/**
 * The embedded broker's TLS and insecure-listener options from `broker.embedded` (the listener's CA
 * defaults to the board image's `fleet-ca.pem` in fleet mode).
 */
export function embeddedTlsFromConfig(config: H3lixConfig): { tls?: EmbeddedBrokerTls; allowInsecure: boolean } {
  const e = config.broker.embedded;
  if (!e.tls.enabled) return { allowInsecure: e.allowInsecure };
  const caFile = e.tls.caFile ?? (config.fleet.enabled ? join(config.fleet.imageDir, 'fleet-ca.pem') : undefined);
  const m = readTlsFiles({ caFile, certFile: e.tls.certFile, keyFile: e.tls.keyFile }, 'broker.embedded.tls');
  if (!m.cert || !m.key) throw new ConfigError('broker.embedded.tls.certFile', 'tls.enabled needs certFile and keyFile');
  const tls: EmbeddedBrokerTls = { cert: m.cert, key: m.key, requireClientCert: e.tls.requireClientCert };
  if (m.ca) tls.ca = m.ca;
  return { tls, allowInsecure: e.allowInsecure };
}
