package io.vlaserve.cli;

import io.vlaserve.tokenizer.ActionDimension;
import io.vlaserve.tokenizer.ActionProfile;
import io.vlaserve.tokenizer.ActionTokenizer;
import io.vlaserve.tokenizer.ProfileFiles;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code vla profiles}: lists the built-in profiles, or describes one with its token slices. */
@Command(name = "profiles", mixinStandardHelpOptions = true,
    description = "List built-in action profiles, or describe one (--profile/--stats) with its token slices.")
final class ProfilesCommand implements Callable<Integer> {
  @Mixin ProfileOptions options = new ProfileOptions();

  @Option(names = "--json", description = "Print the profile as profile JSON (loadable with --profile).")
  boolean json;

  @Override
  public Integer call() {
    if (options.profile == null && options.stats == null) {
      for (ActionProfile profile : io.vlaserve.tokenizer.ProfileRegistry.withBuiltins().profiles()) {
        System.out.printf("%-16s %-8s %2d dims, %d bins, tokens %s..%s%n", profile.name(), profile.scheme().jsonName(),
            profile.dimensionCount(), profile.bins(), profile.tokenizer().allowedTokens(0).first(),
            profile.tokenizer().allowedTokens(profile.dimensionCount() - 1).last());
      }
      return 0;
    }
    ActionTokenizer tokenizer = options.tokenizer();
    ActionProfile profile = tokenizer.profile();
    if (json) {
      System.out.println(ProfileFiles.toJson(profile));
      return 0;
    }
    System.out.printf("%s (%s, %d bins, %s layout, source %s)%n", profile.name(), profile.scheme().jsonName(),
        profile.bins(), profile.tokenLayout().jsonName(), profile.source());
    for (int d = 0; d < profile.dimensionCount(); d++) {
      ActionDimension dim = profile.dimensions().get(d);
      System.out.printf("  %2d %-14s [%s, %s]%s tokens %s%n", d, dim.name(), dim.low(), dim.high(),
          profile.scheme() == io.vlaserve.tokenizer.Scheme.OPENVLA && !dim.normalized() ? " raw" : "",
          tokenizer.allowedTokens(d));
    }
    return 0;
  }
}
