// Reads the VR process's arguments and runs it (entered through main.ts).
import { Command } from 'commander';
import { runVrProcess } from './process.ts';

const program = new Command('nexthop-vr')
  .description('Run one virtual router in the foreground')
  .requiredOption('--config <file>', 'configuration file')
  .option('--name <name>', 'router to run (may be omitted when the file has exactly one)')
  .option('--run-dir <dir>', 'directory of the control and remote socket files', '/run/nexthop')
  .action(async (opts: { config: string; name?: string; runDir: string }) => {
    await runVrProcess({ configPath: opts.config, name: opts.name, runDir: opts.runDir });
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`nexthop-vr: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
