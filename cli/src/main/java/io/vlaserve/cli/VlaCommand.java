package io.vlaserve.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code vla} command line. */
@Command(
    name = "vla",
    mixinStandardHelpOptions = true,
    version = "vla-serve 0.1.0",
    description = "Serve Vision-Language-Action robot policies: tokenizer, policy, controller bridge, planner gateway.",
    subcommands = {
        DemoCommand.class,
        LoadtestCommand.class,
        ServeCommand.class,
        PkiCommand.class,
        TokenizeCommand.class,
        ProfilesCommand.class,
        DatasetCommand.class,
        EvalCommand.class,
        ReplayCommand.class,
        ExportCommand.class,
        ModelCommand.class,
        CommandLine.HelpCommand.class,
    })
public final class VlaCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The configured command line; tests execute it with their own streams. */
  public static CommandLine commandLine() {
    CommandLine commandLine = new CommandLine(new VlaCommand());
    commandLine.setExecutionExceptionHandler((e, cmd, parseResult) -> {
      cmd.getErr().println("vla: " + e.getMessage());
      return 2;
    });
    return commandLine;
  }
}
