import { Command, CommanderError } from 'commander';
import { H3lixError, describeError } from '../errors.js';
import { ExitCode } from './exit-codes.js';
import { UsageError, writeLine, type CliContext, type RegisterCommand } from './context.js';
/**
 * Every top-level command and the module that registers it, in help order. A module is imported only
 * when its command runs (or for help over all commands), so `h3lix run` does not load the eval,
 * bundle or emulator code and their dependencies.
 */
const commands: Array<{ name: string; load: () => Promise<RegisterCommand> }> = [
  { name: 'config', load: async () => (await import('./commands/config.js')).registerConfigCommands },
  { name: 'models', load: async () => (await import('./commands/models.js')).registerModelsCommands },
  { name: 'eval', load: async () => (await import('./commands/eval.js')).registerEvalCommands },
  { name: 'run', load: async () => (await import('./commands/run.js')).registerRunCommands },
  { name: 'demo', load: async () => (await import('./commands/demo.js')).registerDemoCommands },
  { name: 'ccf', load: async () => (await import('./commands/ccf.js')).registerCcfCommands },
  { name: 'simulate', load: async () => (await import('./commands/simulate.js')).registerSimulateCommands },
  { name: 'emulate', load: async () => (await import('./commands/emulate.js')).registerEmulateCommands },
  { name: 'energy', load: async () => (await import('./commands/energy-watch.js')).registerEnergyWatchCommands },
  { name: 'mcu', load: async () => (await import('./commands/mcu.js')).registerMcuCommands },
  { name: 'status', load: async () => (await import('./commands/status.js')).registerStatusCommands },
  { name: 'health', load: async () => (await import('./commands/health.js')).registerHealthCommands },
  {
    name: 'fleet',
    load: async () => {
      const [core, bridge] = await Promise.all([import('./commands/fleet.js'), import('./commands/fleet-bridge.js')]);
      return (program, ctx) => {
        core.registerFleetCommands(program, ctx);
        bridge.registerFleetBridgeCommands(program, ctx);
      };
    },
  },
  { name: 'bundle', load: async () => (await import('./commands/bundle.js')).registerBundleCommands },
  { name: 'image', load: async () => (await import('./commands/image.js')).registerImageCommands },
];

/** The top-level command names, in help order. */
export const commandNames: readonly string[] = commands.map((c) => c.name);

/** Map an error to the exit code documented in README "CLI". */
export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return ExitCode.USAGE;
  if (err instanceof H3lixError) {
    switch (err.code) {
      case 'CONFIG_INVALID':
      case 'CONFIG_NOT_FOUND':
      case 'BOARD_UNKNOWN':
        return ExitCode.CONFIG;
      case 'CLI_USAGE':
      case 'SOURCE_URI':
        return ExitCode.USAGE;
      case 'DATA_INVALID':
      case 'MODEL_INVALID':
      case 'MODEL_CHECKSUM':
      case 'BUNDLE_INVALID':
      case 'BUNDLE_SIGNATURE':
      case 'BUNDLE_ARCH':
      case 'FIRMWARE_IMAGE':
      case 'FIRMWARE_SIGNATURE':
      case 'FIRMWARE_BOARD':
      case 'FIRMWARE_DOWNGRADE':
        return ExitCode.DATA;
      case 'BROKER_UNAVAILABLE':
      case 'SERIAL_UNAVAILABLE':
      case 'PROVISION_TIMEOUT':
      case 'REQUEST_TIMEOUT':
      case 'AUTH_FAILED':
        return ExitCode.UNAVAILABLE;
      case 'STORE_IO':
      case 'STORE_CORRUPT':
      case 'OUTBOX_FULL':
        return ExitCode.IO;
      case 'INTERNAL':
        return ExitCode.SOFTWARE;
      default:
        return ExitCode.FAILED;
    }
  }
  return ExitCode.SOFTWARE;
}

/**
 * Build the program (exported so tests can drive it in-process). With `argv`, only the module of the
 * command named first is loaded; without it, or for help, a version or an unknown name, every module
 * is (commander then lists them all or suggests the nearest).
 */
export async function buildProgram(ctx: CliContext, argv?: readonly string[]): Promise<Command> {
  const program = new Command('h3lix')
    .description('h3lix-edge: local ONNX reasoning, private learning signals, a signed Collective Context Field over MQTT, energy-adaptive scheduling')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
    });
  const first = argv?.slice(2).find((a) => !a.startsWith('-'));
  const only = commands.find((c) => c.name === first);
  for (const c of only ? [only] : commands) (await c.load())(program, ctx);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

/** Run the CLI; resolves to the process exit code. */
export async function runCli(
  argv: string[],
  io: Partial<Pick<CliContext, 'stdout' | 'stderr' | 'env'>> = {},
): Promise<number> {
  let exitCode: number = ExitCode.OK;
  const ctx: CliContext = {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    env: io.env ?? process.env,
    setExitCode: (code) => {
      exitCode = code;
    },
  };
  try {
    const program = await buildProgram(ctx, argv);
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.OK;
      return ExitCode.USAGE;
    }
    const code = exitCodeFor(err);
    writeLine(ctx.stderr, `h3lix: ${describeError(err)}`);
    if (code === ExitCode.SOFTWARE && err instanceof Error && err.stack) writeLine(ctx.stderr, err.stack);
    return code;
  }
}
