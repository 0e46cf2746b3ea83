/** The `wirewatch` command. */
import { Command } from 'commander';
import { registerDlqCommands } from './commands/dlq.ts';
import { registerFeedsCommands } from './commands/feeds.ts';
import { registerRehearseCommand } from './commands/rehearse.ts';
import { registerRulesCommands } from './commands/rules.ts';
import { registerRunCommands } from './commands/run.ts';

const program = new Command()
  .name('wirewatch')
  .description('Alerting pipeline for wire and news feeds')
  .showHelpAfterError();

registerRunCommands(program);
registerDlqCommands(program);
registerRulesCommands(program);
registerFeedsCommands(program);
registerRehearseCommand(program);

await program.parseAsync(process.argv);
