import { Command } from 'commander';

const program = new Command()
  .name('wirewatch')
  .description('Alerting pipeline for wire and news feeds')
  .showHelpAfterError();

await program.parseAsync(process.argv);
