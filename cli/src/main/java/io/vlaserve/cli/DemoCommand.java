package io.vlaserve.cli;

import io.vlaserve.launcher.ServiceProcess;
import io.grpc.ManagedChannel;
import io.vlaserve.common.v1.ActionVector;
import io.vlaserve.tokenizer.v1.DecodeRequest;
import io.vlaserve.tokenizer.v1.DecodeResponse;
import io.vlaserve.tokenizer.v1.Dimension;
import io.vlaserve.tokenizer.v1.EncodeRequest;
import io.vlaserve.tokenizer.v1.EncodeResponse;
import io.vlaserve.tokenizer.v1.ListProfilesRequest;
import io.vlaserve.tokenizer.v1.Profile;
import io.vlaserve.tokenizer.v1.Scheme;
import io.vlaserve.tokenizer.v1.TokenizerServiceGrpc;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vla demo}: starts the suite's services as separate processes on loopback ports and drives
 * them end to end, then stops them (also on Ctrl-C).
 *
 * <p>Today the suite has one service, the tokenizer: the demo sends seeded random actions of every
 * profile through it over gRPC, decodes them back and checks the reconstruction error against the
 * scheme's bound. It grows into the full robot demo as the policy, controller and gateway land.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Start the services on loopback, drive them end to end, report, and stop them.")
final class DemoCommand implements Callable<Integer> {
  @Option(names = "--actions", defaultValue = "20000", description = "Actions per profile (default: ${DEFAULT-VALUE}).")
  int actions;

  @Option(names = "--batch", defaultValue = "500", description = "Actions per gRPC call (default: ${DEFAULT-VALUE}).")
  int batch;

  @Option(names = "--seed", defaultValue = "7", description = "Random seed (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--log-dir", defaultValue = "target/demo", description = "Service logs (default: ${DEFAULT-VALUE}).")
  Path logDir;

  @Override
  public Integer call() throws Exception {
    System.out.println("Starting tokenizer-service on loopback ...");
    try (ServiceProcess tokenizerService = Services.start("tokenizer", logDir, List.of())) {
      Thread stopOnCtrlC = new Thread(tokenizerService::close);
      Runtime.getRuntime().addShutdownHook(stopOnCtrlC);
      tokenizerService.awaitServing(Duration.ofSeconds(90));
      System.out.printf("tokenizer-service SERVING on 127.0.0.1:%d (metrics http://127.0.0.1:%d/actuator/prometheus)%n",
          tokenizerService.grpcPort(), tokenizerService.httpPort());
      ManagedChannel channel = tokenizerService.channel();
      try {
        int failures = roundTrips(TokenizerServiceGrpc.newBlockingStub(channel));
        System.out.println(failures == 0 ? "demo OK: every profile round-tripped within its bound"
            : "demo FAILED: " + failures + " profile(s) exceeded their bound");
        return failures == 0 ? 0 : 1;
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        Runtime.getRuntime().removeShutdownHook(stopOnCtrlC);
        System.out.println("Stopping tokenizer-service ...");
      }
    }
  }

  private int roundTrips(TokenizerServiceGrpc.TokenizerServiceBlockingStub stub) {
    SplittableRandom random = new SplittableRandom(seed);
    int failures = 0;
    System.out.printf("%-16s %-8s %8s %12s %14s %14s%n", "profile", "scheme", "actions", "actions/s", "max error", "bound");
    for (Profile profile : stub.listProfiles(ListProfilesRequest.getDefaultInstance()).getProfilesList()) {
      double worstRatio = 0;
      double worstError = 0;
      double worstBound = 0;
      long started = System.nanoTime();
      for (int done = 0; done < actions; done += batch) {
        int n = Math.min(batch, actions - done);
        EncodeRequest.Builder request = EncodeRequest.newBuilder().setProfile(profile.getName());
        double[][] sent = new double[n][];
        for (int a = 0; a < n; a++) {
          sent[a] = sample(profile, random);
          ActionVector.Builder action = request.addActionsBuilder();
          for (double v : sent[a]) {
            action.addValues(v);
          }
        }
        EncodeResponse encoded = stub.withDeadlineAfter(30, TimeUnit.SECONDS).encode(request.build());
        DecodeResponse decoded = stub.withDeadlineAfter(30, TimeUnit.SECONDS).decode(DecodeRequest.newBuilder()
            .setProfile(profile.getName()).addAllSequences(encoded.getSequencesList()).build());
        for (int a = 0; a < n; a++) {
          for (int d = 0; d < profile.getDimensionsCount(); d++) {
            double error = Math.abs(decoded.getActions(a).getValues(d) - sent[a][d]);
            double bound = bound(profile, d);
            if (error / bound > worstRatio) {
              worstRatio = error / bound;
              worstError = error;
              worstBound = bound;
            }
          }
        }
      }
      double seconds = (System.nanoTime() - started) / 1e9;
      boolean ok = worstRatio <= 1.0 + 1e-6;
      failures += ok ? 0 : 1;
      System.out.printf("%-16s %-8s %8d %12.0f %14.3e %14.3e %s%n", profile.getName(),
          profile.getScheme() == Scheme.SCHEME_OPENVLA ? "openvla" : "uniform", actions, actions / seconds,
          worstError, worstBound, ok ? "ok" : "EXCEEDED");
    }
    return failures;
  }

  /** A value inside each dimension's range (OpenVLA's raw gripper: fully open or closed). */
  private static double[] sample(Profile profile, SplittableRandom random) {
    double[] action = new double[profile.getDimensionsCount()];
    for (int d = 0; d < action.length; d++) {
      Dimension dim = profile.getDimensions(d);
      if (profile.getScheme() == Scheme.SCHEME_OPENVLA && !dim.getNormalized()) {
        action[d] = random.nextBoolean() ? 1.0 : 0.0;
      } else {
        action[d] = dim.getLow() + random.nextDouble() * (dim.getHigh() - dim.getLow());
      }
    }
    return action;
  }

  /** Half a bin in the dimension's unit: the largest reconstruction error the scheme allows in range. */
  private static double bound(Profile profile, int d) {
    Dimension dim = profile.getDimensions(d);
    if (profile.getScheme() == Scheme.SCHEME_OPENVLA) {
      double span = dim.getNormalized() ? dim.getHigh() - dim.getLow() : 2.0;
      // 1.0 and 0.0 sit at a bin edge / centre for the raw gripper: error up to a full bin there.
      return dim.getNormalized() ? span / (profile.getBins() - 1) / 2 + 1e-8 : 2.0 / (profile.getBins() - 1);
    }
    return (dim.getHigh() - dim.getLow()) / profile.getBins() / 2 * (1 + 1e-9);
  }
}
