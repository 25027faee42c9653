package io.vlaserve.cli;

import io.vlaserve.policy.ModelCheck;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code vla model}: model packages. */
@Command(name = "model", mixinStandardHelpOptions = true, description = "Model packages (docs/model-package.md).",
    subcommands = {ModelCommand.Check.class, CommandLine.HelpCommand.class})
final class ModelCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** {@code vla model check PACKAGE}: every check, one line each; exit 1 if any failed. */
  @Command(name = "check", mixinStandardHelpOptions = true, description = "Check a model package end to end:"
      + " manifest, graphs and their shapes, vocabulary, a decoded chunk, parity with the training framework.")
  static final class Check implements Callable<Integer> {
    @Parameters(paramLabel = "PACKAGE", description = "The model package folder (with model.json).")
    private Path directory;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      List<ModelCheck.Finding> findings = ModelCheck.run(directory);
      boolean failed = false;
      for (ModelCheck.Finding finding : findings) {
        out.printf("%-8s %-7s %s%n", finding.check(), switch (finding.status()) {
          case OK -> "ok";
          case FAILED -> "FAILED";
          case SKIPPED -> "skipped";
        }, finding.detail());
        failed |= finding.status() == ModelCheck.Status.FAILED;
      }
      out.println(failed ? directory + ": NOT servable as it is" : directory + ": servable");
      out.flush();
      return failed ? 1 : 0;
    }
  }
}
