import { Command, CommanderError } from 'commander';
import { H3lixError, describeError } from '../errors.js';
import { ExitCode } from './exit-codes.js';
import { UsageError, writeLine, type CliContext, type RegisterCommand } from './context.js';
import { registerConfigCommands } from './commands/config.js';
import { registerModelsCommands } from './commands/models.js';
import { registerEvalCommands } from './commands/eval.js';
import { registerRunCommands } from './commands/run.js';
import { registerDemoCommands } from './commands/demo.js';
import { registerCcfCommands } from './commands/ccf.js';
import { registerSimulateCommands } from './commands/simulate.js';
import { registerFleetCommands } from './commands/fleet.js';
import { registerEmulateCommands } from './commands/emulate.js';
import { registerEnergyWatchCommands } from './commands/energy-watch.js';
import { registerMcuCommands } from './commands/mcu.js';
import { registerStatusCommands } from './commands/status.js';
import { registerBundleCommands } from './commands/bundle.js';
import { registerImageCommands } from './commands/image.js';

/** Every command module, in help order. Each registers its own subcommands. */
const commands: RegisterCommand[] = [registerConfigCommands, registerModelsCommands, registerEvalCommands, registerRunCommands, registerDemoCommands, registerCcfCommands, registerSimulateCommands, registerEmulateCommands, registerEnergyWatchCommands, registerMcuCommands, registerStatusCommands, registerFleetCommands, registerBundleCommands, registerImageCommands];

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

/** Build the program (exported so tests can drive it in-process). */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('h3lix')
    .description('h3lix-edge: local ONNX reasoning, private learning signals, a signed Collective Context Field over MQTT, energy-adaptive scheduling')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
    });
  for (const register of commands) register(program, ctx);
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
  const program = buildProgram(ctx);
  try {
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
