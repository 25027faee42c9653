package io.vlaserve.cli;

import io.vlaserve.tokenizer.ActionTokenizer;
import io.vlaserve.tokenizer.DatasetStatistics;
import io.vlaserve.tokenizer.ProfileFiles;
import io.vlaserve.tokenizer.ProfileRegistry;
import io.vlaserve.tokenizer.TokenizerException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** How a command picks its tokenizer: a profile (file or built-in name), or OpenVLA statistics. */
final class ProfileOptions {
  @Option(names = "--profile", paramLabel = "FILE|NAME",
      description = "A profile JSON file, or a built-in profile name (${sys:line.separator}  "
          + "eef-delta-7dof, widowx-bridge, bimanual-14dof).")
  String profile;

  @Option(names = "--scheme", paramLabel = "openvla|uniform",
      description = "With --stats: openvla. Uniform binning needs a --profile.")
  String scheme;

  @Option(names = "--stats", paramLabel = "FILE", description = "OpenVLA dataset_statistics.json (or norm_stats).")
  Path stats;

  @Option(names = "--unnorm-key", paramLabel = "KEY",
      description = "Dataset key in --stats; optional when the file holds one dataset.")
  String unnormKey;

  @Option(names = "--bins", defaultValue = "256", description = "OpenVLA bin edges (default: ${DEFAULT-VALUE}).")
  int bins;

  @Option(names = "--vocab-size", defaultValue = "32000",
      description = "OpenVLA vocabulary size (default: ${DEFAULT-VALUE}, Llama 2).")
  int vocabSize;

  ActionTokenizer tokenizer() {
    if (profile != null && stats != null) {
      throw new TokenizerException("--profile and --stats are exclusive (expected: one of them)");
    }
    if (stats != null) {
      if (scheme != null && !scheme.equals("openvla")) {
        throw new TokenizerException("--scheme " + scheme + " with --stats (expected: openvla; uniform needs --profile)");
      }
      DatasetStatistics statistics = DatasetStatistics.read(stats);
      String key = statistics.resolveKey(unnormKey);
      return statistics.action(key).toOpenVlaProfile(key, bins, vocabSize, "stats:" + stats + "#" + key).tokenizer();
    }
    if (profile == null) {
      throw new TokenizerException("no tokenizer chosen (expected: --profile FILE|NAME, or --scheme openvla --stats FILE"
          + " [--unnorm-key KEY])");
    }
    Path file = Path.of(profile);
    ActionTokenizer tokenizer = Files.isRegularFile(file)
        ? ProfileFiles.read(file).tokenizer()
        : ProfileRegistry.withBuiltins().tokenizer(profile);
    if (scheme != null && !scheme.equals(tokenizer.profile().scheme().jsonName())) {
      throw new TokenizerException("--scheme " + scheme + " but profile " + tokenizer.profile().name()
          + " uses " + tokenizer.profile().scheme().jsonName());
    }
    return tokenizer;
  }
}
