import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import mqtt from 'mqtt';
import { describeError, H3lixError } from '../../errors.js';
import { systemClock } from '../../util/clock.js';
import { createLogger } from '../../util/logger.js';
import { FleetDir } from '../../fleet/fleet-dir.js';
import { addBatch, initFleet } from '../../fleet/init.js';
import { buildMosquittoAuth } from '../../fleet/mosquitto-acl.js';
import { Provisioner } from '../../fleet/provisioner.js';
import { revokeBatch, revokeNode } from '../../fleet/revoke.js';
import { decodeReply, encodeCommand, newCorrelationId } from '../../fleet/commands.js';
import { verifyCertificate } from '../../fleet/certificate.js';
import { makeProvisionerToken } from '../../fleet/tokens.js';
import { ensureFleetTls, operatorTls } from '../../fleet/tls-files.js';
import { writeMosquittoTls } from '../../fleet/mosquitto-tls.js';
import { clientTlsOptions, isTlsUrl } from '../../sync/tls.js';
import { registerFleetTlsCommands } from './fleet-tls.js';
import { ExitCode } from '../exit-codes.js';
import { parsePositiveInt, parsePositiveNumber, UsageError, writeLine, type CliContext } from '../context.js';

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
function name(what: string) {
  return (v: string): string => {
    if (!NAME.test(v)) throw new UsageError(`${what} must be 1-64 of [A-Za-z0-9_-], got "${v}"`);
    return v;
  };
}
function url(v: string): string {
  if (!/^(mqtts?|tcp|tls|wss?):\/\/.+/.test(v)) throw new UsageError(`--broker must be a URL like mqtt://host:1883, got "${v}"`);
  return v;
}
const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter(Boolean);

/** Connect as the provisioner (token for the embedded broker, password for Mosquitto). */
async function operatorClient(fd: FleetDir, broker: string, auth: string): Promise<mqtt.MqttClient> {
  const password = auth === 'password' ? fd.provisionerPassword() : makeProvisionerToken(fd.fleetSigner(), Date.now() + 3600_000);
  try {
    // Mosquitto forces client id = username (use_username_as_clientid): the CLI logs in as `operator`
    // so it does not displace a running `fleet serve` (user `provisioner`, same password).
    const username = auth === 'password' ? 'operator' : 'provisioner';
    // mqtts: a fresh certificate for that username (mutual TLS binds the login to its CN)
    const tls = isTlsUrl(broker) ? clientTlsOptions(await operatorTls(fd, username, Date.now())) : {};
    return await mqtt.connectAsync(broker, { clientId: `h3lix-operator-${process.pid}-${Date.now() % 100000}`, username, password, reconnectPeriod: 0, connectTimeout: 5000, ...tls });
  } catch (err) {
    throw new H3lixError('BROKER_UNAVAILABLE', `cannot connect to ${broker}: ${describeError(err)}`, { cause: err, retryable: true });
  }
}

/** `h3lix fleet ...`: fleet keys, claims, provisioning, ACLs, revocation and commands (docs/fleet.md). */
export function registerFleetCommands(program: Command, ctx: CliContext): void {
  const fleet = program.command('fleet').description('fleet identity: keys and claims, provisioning, broker ACLs, revocation, signed commands');
  const out = (line: string) => writeLine(ctx.stdout, line);
  const progress = (line: string) => writeLine(ctx.stderr, line);

  fleet
    .command('init')
    .description('create a fleet signing key and a first claim batch; prints what goes into a board image and what stays with the operator')
    .requiredOption('--fleet <name>', 'fleet name (topic segment)', name('--fleet'))
    .requiredOption('--out <dir>', 'new fleet directory (refused if it already holds a fleet)')
    .option('--batch <name>', 'claim batch name', name('--batch'), 'batch1')
    .option('--uses <n>', 'boards that may provision with the claim', parsePositiveInt('--uses'), 100)
    .option('--expires <days>', 'claim lifetime in days', parsePositiveNumber('--expires', 0.0001, 36500), 30)
    .option('--broker <url>', 'broker URL boards connect to', url, 'mqtt://127.0.0.1:1883')
    .option('--boards <list>', 'comma-separated board profiles the claim may provision (default any)', list)
    .option('--json', 'print a JSON summary as the last line')
    .action(async (o: { fleet: string; out: string; batch: string; uses: number; expires: number; broker: string; boards?: string[]; json?: boolean }) => {
      const dir = resolve(o.out);
      const r = initFleet({ dir, fleet: o.fleet, brokerUrl: o.broker, batch: { name: o.batch, uses: o.uses, expiresDays: o.expires, boards: o.boards ?? [] }, now: Date.now() });
      await ensureFleetTls(r.fleetDir, Date.now());
      r.image.push(r.fleetDir.path('image', o.batch, 'fleet-ca.pem'), r.fleetDir.path('image', o.batch, 'claim-cert.pem'));
      out(`fleet ${o.fleet} created in ${dir}`);
      out(`fleet public key: ${r.fleetDir.info.fleetPublicKey}`);
      out(`broker: ${o.broker}`);
      out(`board image (copy onto every board of batch ${o.batch}; claim.json is 0600):`);
      for (const p of r.image) out(`  ${p}`);
      out('keep with the operator (never in an image; 0600):');
      for (const p of r.operator) out(`  ${p}`);
      out(`claim: ${o.uses} uses, expires ${new Date(Date.now() + o.expires * 86_400_000).toISOString()}`);
      if (o.json) out(JSON.stringify({ fleet: o.fleet, dir, fleetPublicKey: r.fleetDir.info.fleetPublicKey, brokerUrl: o.broker, batch: o.batch, image: r.image, operator: r.operator }));
      ctx.setExitCode(ExitCode.OK);
    });

  fleet
    .command('batch')
    .description('add a claim batch to an existing fleet')
    .requiredOption('--fleet-dir <dir>', 'fleet directory')
    .requiredOption('--batch <name>', 'claim batch name', name('--batch'))
    .option('--uses <n>', 'boards that may provision with the claim', parsePositiveInt('--uses'), 100)
    .option('--expires <days>', 'claim lifetime in days', parsePositiveNumber('--expires', 0.0001, 36500), 30)
    .option('--boards <list>', 'comma-separated board profiles allowed (default any)', list)
    .action(async (o: { fleetDir: string; batch: string; uses: number; expires: number; boards?: string[] }) => {
      const fd = FleetDir.open(o.fleetDir);
      const files = addBatch(fd, { name: o.batch, uses: o.uses, expiresDays: o.expires, boards: o.boards ?? [] }, Date.now());
      await ensureFleetTls(fd, Date.now());
      files.push(fd.path('image', o.batch, 'fleet-ca.pem'), fd.path('image', o.batch, 'claim-cert.pem'));
      out(`batch ${o.batch} added; board image files:`);
      for (const p of files) out(`  ${p}`);
      ctx.setExitCode(ExitCode.OK);
    });

  fleet
    .command('serve')
    .description('run the provisioner: answer provisioning requests until SIGINT/SIGTERM')
    .requiredOption('--fleet-dir <dir>', 'fleet directory (needs private/fleet.key)')
    .requiredOption('--broker <url>', 'broker URL', url)
    .option('--auth <mode>', 'broker login: token (embedded aedes with fleet hooks) or password (Mosquitto)', 'token')
    .option('--manual', 'park valid requests for `h3lix fleet approve|reject`')
    .option('--cert-days <days>', 'certificate lifetime in days', parsePositiveNumber('--cert-days', 0.001, 3650), 90)
    .option('--allow-boards <list>', 'comma-separated board profiles allowed fleet-wide (default any)', list)
    .option('--duration-ms <ms>', 'stop after this long (smoke tests); default run until a signal', parsePositiveInt('--duration-ms'))
    .option('--log-level <level>', 'log level', 'info')
    .action(async (o: { fleetDir: string; broker: string; auth: string; manual?: boolean; certDays: number; allowBoards?: string[]; durationMs?: number; logLevel: string }) => {
      if (o.auth !== 'token' && o.auth !== 'password') throw new UsageError(`--auth must be token or password, got "${o.auth}"`);
      const fd = FleetDir.open(o.fleetDir);
      const logger = createLogger(o.logLevel as 'info', ctx.stderr);
      const p = new Provisioner({ fleetDir: fd, url: o.broker, auth: o.auth, manual: !!o.manual, policy: { certLifetimeDays: o.certDays, allowBoards: o.allowBoards ?? [], config: {} }, clock: systemClock, logger });
      await p.start();
      progress(`provisioner for fleet ${fd.fleet} listening on ${o.broker}${o.manual ? ' (manual approval)' : ''}`);
      await new Promise<void>((done) => {
        const stop = () => done();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        if (o.durationMs) setTimeout(stop, o.durationMs).unref();
      });
      await p.stop();
      const byCode = [...p.refusals].map(([code, n]) => `${code} ${n}`).join(', ');
      out(`provisioner stopped: ${p.stats.accepted} accepted, ${p.stats.rejected} rejected${byCode ? ` (${byCode})` : ''}, ${p.stats.malformed} refused as malformed, ${p.stats.replayed} replays answered unchanged, ${p.stats.pending} pending`);
      ctx.setExitCode(ExitCode.OK);
    });

  for (const verb of ['approve', 'reject'] as const) {
    const cmd = fleet
      .command(`${verb} <request>`)
      .description(`${verb} a pending provisioning request (manual mode); the running provisioner answers it`)
      .requiredOption('--fleet-dir <dir>', 'fleet directory');
    if (verb === 'reject') cmd.option('--reason <text>', 'reason sent to the board', 'rejected by operator');
    cmd.action((request: string, o: { fleetDir: string; reason?: string }) => {
        const fd = FleetDir.open(o.fleetDir);
        name('request')(request);
        const p = fd.pending(request);
        if (!p) throw new H3lixError('DATA_INVALID', `no pending request ${request} (see h3lix fleet list --pending)`);
        fd.savePending({ ...p, decision: verb === 'approve' ? 'approved' : 'rejected', reason: o.reason ?? 'approved by operator' });
        out(`${request} (node ${p.nodeId}, board ${p.board}, batch ${p.batch}) ${verb === 'approve' ? 'approved' : 'rejected'}`);
        ctx.setExitCode(ExitCode.OK);
      });
  }

  fleet
    .command('list')
    .description('list provisioned nodes, pending requests, claim batches and revocations')
    .requiredOption('--fleet-dir <dir>', 'fleet directory')
    .option('--pending', 'only pending requests')
    .option('--json', 'print one JSON object as the last line')
    .action((o: { fleetDir: string; pending?: boolean; json?: boolean }) => {
      const fd = FleetDir.open(o.fleetDir);
      const now = Date.now();
      const rev = fd.revocations();
      const revoked = new Set(rev.revoked.map((r) => r.nodeId));
      const revokedBatches = new Set((rev.batches ?? []).map((b) => b.batch));
      const pending = fd.pendingAll().map((p) => ({ requestId: p.requestId, nodeId: p.nodeId, board: p.board, batch: p.batch, receivedAt: new Date(p.receivedAt).toISOString(), decision: p.decision ?? 'waiting' }));
      const nodes = fd.nodes().map((n) => ({ nodeId: n.nodeId, board: n.board, batch: n.batch, serial: n.serial, notAfter: new Date(n.notAfter).toISOString(), status: revoked.has(n.nodeId) ? 'revoked' : n.notAfter <= now ? 'expired' : 'valid' }));
      const claims = fd.claimStates().map((c) => ({ batch: c.batch, uses: c.uses, maxUses: c.maxUses, notAfter: new Date(c.notAfter).toISOString(), status: revokedBatches.has(c.batch) ? 'revoked' : c.notAfter <= now ? 'expired' : c.uses >= c.maxUses ? 'used up' : 'open' }));
      for (const p of pending) out(`pending  ${p.requestId}  node ${p.nodeId}  board ${p.board}  batch ${p.batch}  ${p.receivedAt}  ${p.decision}`);
      if (!o.pending) {
        for (const n of nodes) out(`node     ${n.nodeId}  board ${n.board}  batch ${n.batch}  serial ${n.serial}  until ${n.notAfter}  ${n.status}`);
        for (const c of claims) out(`claim    ${c.batch}  ${c.uses}/${c.maxUses} used  until ${c.notAfter}  ${c.status}`);
      }
      if (o.json) out(JSON.stringify(o.pending ? { pending } : { fleet: fd.fleet, pending, nodes, claims, revoked: [...revoked], revokedBatches: [...revokedBatches] }));
      ctx.setExitCode(ExitCode.OK);
    });

  fleet
    .command('acl')
    .description('emit broker access control matching the embedded broker hooks (Mosquitto acl_file + password_file)')
    .requiredOption('--fleet-dir <dir>', 'fleet directory')
    .option('--format <format>', 'only "mosquitto"', 'mosquitto')
    .option('--out <dir>', 'write acl, passwd (0600) and mosquitto.conf lines there; default print to stdout')
    .option('--tls <names>', 'also a mutual-TLS listener: comma-separated host names/addresses boards use for the broker (needs --out; writes ca.pem, server.pem, server.key, crl.pem)', list)
    .option('--tls-port <port>', 'port of the mutual-TLS listener', parsePositiveInt('--tls-port'), 8883)
    .action(async (o: { fleetDir: string; format: string; out?: string; tls?: string[]; tlsPort: number }) => {
      if (o.format !== 'mosquitto') throw new UsageError(`--format must be mosquitto, got "${o.format}"`);
      if (o.tls && !o.out) throw new UsageError('--tls needs --out (it writes key and certificate files)');
      const fd = FleetDir.open(o.fleetDir);
      const files = buildMosquittoAuth(fd, Date.now());
      if (!o.out) {
        out('# ---- acl_file ----');
        ctx.stdout.write(files.acl);
        out('# ---- password_file ----');
        ctx.stdout.write(files.passwd);
      } else {
        const dir = resolve(o.out);
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        const aclPath = join(dir, 'acl');
        const pwPath = join(dir, 'passwd');
        writeFileSync(aclPath, files.acl, { mode: 0o600 });
        writeFileSync(pwPath, files.passwd, { mode: 0o600 });
        const tls = o.tls ? await writeMosquittoTls(fd, { dir, port: o.tlsPort, names: o.tls, now: Date.now() }) : undefined;
        writeFileSync(join(dir, 'mosquitto-auth.conf'), [...(tls?.conf ?? []), ...files.conf(aclPath, pwPath)].join('\n') + '\n', { mode: 0o600 });
        if (tls) out(`mutual TLS on port ${o.tlsPort}: ${tls.cafile}, ${tls.certfile}, ${tls.keyfile}, ${tls.crlfile} (${tls.revokedSerials.length} revoked certificates); boards use mqtts://${o.tls?.[0] ?? '<broker>'}:${o.tlsPort}`);
        out(`wrote ${aclPath}, ${pwPath} and ${join(dir, 'mosquitto-auth.conf')} (${files.users} users)`);
        out(`include ${join(dir, 'mosquitto-auth.conf')} in mosquitto.conf; after provisioning or revoking, re-run and send SIGHUP to mosquitto`);
      }
      ctx.setExitCode(ExitCode.OK);
    });

  registerFleetTlsCommands(fleet, ctx);

  fleet
    .command('revoke [node]')
    .description('revoke a node, or with --batch a whole claim batch: sign a new revocation list; with --broker publish it retained on h3lix/v1/<fleet>/fleet/revocations')
    .requiredOption('--fleet-dir <dir>', 'fleet directory')
    .option('--batch <name>', 'revoke the claim of this batch: no new board provisions with it (nodes already provisioned keep working)', name('--batch'))
    .option('--claim <name>', 'same as --batch (one claim per batch)', name('--claim'))
    .option('--reason <text>', 'reason recorded in the list', 'revoked by operator')
    .option('--broker <url>', 'publish the list to this broker', url)
    .option('--auth <mode>', 'broker login: token or password', 'token')
    .action(async (node: string | undefined, o: { fleetDir: string; batch?: string; claim?: string; reason: string; broker?: string; auth: string }) => {
      if (o.batch && o.claim && o.batch !== o.claim) throw new UsageError('--batch and --claim name the same thing; give one');
      const batch = o.batch ?? o.claim;
      if ((node === undefined) === (batch === undefined)) throw new UsageError('give either a node id or --batch <name>');
      const fd = FleetDir.open(o.fleetDir);
      let signed: Uint8Array;
      if (batch !== undefined) {
        signed = revokeBatch(fd, batch, o.reason, Date.now());
        const kept = fd.nodes().filter((n) => n.batch === batch).length;
        out(`claim of batch ${batch} revoked (revocation list seq ${fd.revocations().seq}); its ${kept} provisioned node(s) keep working unless revoked one by one`);
      } else {
        name('node')(node!);
        signed = revokeNode(fd, node!, o.reason, Date.now());
        out(`${node} revoked (revocation list seq ${fd.revocations().seq})`);
      }
      if (o.broker) {
        const c = await operatorClient(fd, o.broker, o.auth);
        try {
          await c.publishAsync(`h3lix/v1/${fd.fleet}/fleet/revocations`, Buffer.from(signed), { qos: 1, retain: true });
        } finally {
          await c.endAsync();
        }
        out(`published retained on h3lix/v1/${fd.fleet}/fleet/revocations`);
      } else {
        progress('not published: pass --broker, or restart `h3lix fleet serve` (it publishes the list at start)');
      }
      progress('on Mosquitto: re-run `h3lix fleet acl` and send SIGHUP to mosquitto');
      ctx.setExitCode(ExitCode.OK);
    });

  fleet
    .command('cmd <node> <command>')
    .description('send a fleet-signed command to a node and wait for its signed reply')
    .requiredOption('--fleet-dir <dir>', 'fleet directory')
    .requiredOption('--broker <url>', 'broker URL', url)
    .option('--auth <mode>', 'broker login: token or password', 'token')
    .option('--args <json>', 'command arguments as a JSON object', '{}')
    .option('--ttl <seconds>', 'command expires after this long', parsePositiveInt('--ttl'), 60)
    .option('--wait <seconds>', 'wait this long for the reply', parsePositiveInt('--wait'), 10)
    .option('--json', 'print the reply as JSON on the last line')
    .action(async (node: string, command: string, o: { fleetDir: string; broker: string; auth: string; args: string; ttl: number; wait: number; json?: boolean }) => {
      name('node')(node);
      let args: Record<string, unknown>;
      try {
        args = JSON.parse(o.args) as Record<string, unknown>;
        if (args === null || typeof args !== 'object' || Array.isArray(args)) throw new Error('not an object');
      } catch (err) {
        throw new UsageError(`--args must be a JSON object: ${(err as Error).message}`);
      }
      const fd = FleetDir.open(o.fleetDir);
      const rec = fd.node(node);
      if (!rec) throw new H3lixError('DATA_INVALID', `node ${node} is not provisioned in ${fd.dir}`);
      const cert = verifyCertificate(Buffer.from(rec.cert, 'base64'), fd.fleetPublicKey, fd.fleet);
      const id = newCorrelationId();
      const now = Date.now();
      const bytes = encodeCommand(fd.fleet, { to: node, id, name: command, args, exp: now + o.ttl * 1000 }, fd.fleetSigner(), fd.nextCommandSeq(now), now);
      const root = `h3lix/v1/${fd.fleet}/cmd/${node}`;
      const c = await operatorClient(fd, o.broker, o.auth);
      try {
        const reply = await new Promise<ReturnType<typeof decodeReply> | undefined>((done, fail) => {
          const timer = setTimeout(() => done(undefined), o.wait * 1000);
          c.on('message', (_topic, payload) => {
            try {
              const r = decodeReply(new Uint8Array(payload), fd.fleet, { resolve: (from) => (from === node ? cert.publicKey : undefined) });
              if (r.id !== id) return;
              clearTimeout(timer);
              done(r);
            } catch (err) {
              progress(`ignored reply: ${describeError(err)}`);
            }
          });
          c.subscribeAsync(`${root}/reply`, { qos: 1 })
            .then(() => c.publishAsync(root, Buffer.from(bytes), { qos: 1 }))
            .then(() => progress(`sent ${command} (${id}) to ${node}`))
            .catch((err: unknown) => {
              clearTimeout(timer);
              fail(err);
            });
        });
        if (!reply) {
          out(`no reply from ${node} within ${o.wait} s`);
          ctx.setExitCode(ExitCode.UNAVAILABLE);
          return;
        }
        out(`${node} ${reply.ok ? 'ok' : 'failed'}: ${reply.ok ? JSON.stringify(reply.result ?? {}) : reply.error}`);
        if (o.json) out(JSON.stringify(reply));
        ctx.setExitCode(reply.ok ? ExitCode.OK : ExitCode.FAILED);
      } finally {
        await c.endAsync();
      }
    });
}
