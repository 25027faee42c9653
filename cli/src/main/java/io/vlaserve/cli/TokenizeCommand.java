package io.vlaserve.cli;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code vla tokenize encode|decode}: JSON lines in, JSON lines out, one answer per input line. */
@Command(name = "tokenize", description = "Encode actions to tokens or decode tokens to actions, as JSON lines.",
    mixinStandardHelpOptions = true, subcommands = {TokenizeCommand.Encode.class, TokenizeCommand.Decode.class})
final class TokenizeCommand {

  @Command(name = "encode", mixinStandardHelpOptions = true,
      description = {"Reads {\"action\":[...]} lines from stdin; writes {\"tokens\":[...]} or {\"error\":\"...\"} lines.",
          "Exit status 1 when any line failed (the other lines are still answered)."})
  static final class Encode implements Callable<Integer> {
    @Mixin ProfileOptions options = new ProfileOptions();

    @Override
    public Integer call() throws IOException {
      return run(new JsonLinesTokenizer(options.tokenizer(), JsonLinesTokenizer.Direction.ENCODE));
    }
  }

  @Command(name = "decode", mixinStandardHelpOptions = true,
      description = {"Reads {\"tokens\":[...]} lines from stdin; writes {\"action\":[...]} or {\"error\":\"...\"} lines.",
          "Exit status 1 when any line failed (the other lines are still answered)."})
  static final class Decode implements Callable<Integer> {
    @Mixin ProfileOptions options = new ProfileOptions();

    @Override
    public Integer call() throws IOException {
      return run(new JsonLinesTokenizer(options.tokenizer(), JsonLinesTokenizer.Direction.DECODE));
    }
  }

  static int run(JsonLinesTokenizer lines) throws IOException {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8), 1 << 16);
    BufferedWriter out = new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), 1 << 16);
    long failed = lines.run(in, out);
    out.flush();
    return failed == 0 ? 0 : 1;
  }
}
