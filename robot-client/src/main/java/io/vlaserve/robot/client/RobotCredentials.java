package io.vlaserve.robot.client;

import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.vlaserve.tls.TlsMaterial;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * How a robot's channels authenticate: TLS from three PEM files (the CA to trust, the robot's
 * certificate naming it, {@code spiffe://vla-serve/robot/<robot-id>}, and its PKCS#8 key), or
 * plaintext, only when asked for explicitly. Made from paths, from command-line options
 * ({@link #fromCommandLine}: {@code --tls-ca --tls-cert --tls-key}, or {@code --insecure}) or from
 * properties ({@link #fromProperties}: {@code vla.robot.tls.ca}, {@code .certificate},
 * {@code .private-key}, or {@code vla.robot.tls.insecure=true}); either way, giving nothing is an
 * error that says what to give.
 *
 * <p>Usage: {@code RobotChannels.forTarget(t).credentials(RobotCredentials.fromProperties(System::getProperty))}.
 * The files are read once; {@link #material()} can {@link TlsMaterial#watch watch} them for
 * rotations. Thread-safe.
 */
public final class RobotCredentials implements AutoCloseable {
  /** The three options, as the command line spells them. */
  public static final String CA_OPTION = "--tls-ca";
  public static final String CERT_OPTION = "--tls-cert";
  public static final String KEY_OPTION = "--tls-key";
  public static final String INSECURE_OPTION = "--insecure";

  private final TlsMaterial material;

  private RobotCredentials(TlsMaterial material) {
    this.material = material;
  }

  /**
   * TLS: the servers' certificates checked against {@code ca} and the dialed host name, and this
   * robot's certificate presented.
   *
   * @throws IllegalArgumentException naming a file that is missing or unusable
   */
  public static RobotCredentials tls(Path ca, Path certificate, Path privateKey) {
    if (ca == null || certificate == null || privateKey == null) {
      throw new IllegalArgumentException("TLS: CA " + ca + ", certificate " + certificate + ", private key "
          + privateKey + " (expected: all three; the robot's certificate names spiffe://vla-serve/robot/<robot-id>)");
    }
    return new RobotCredentials(TlsMaterial.load(certificate, privateKey, ca));
  }

  /** Plaintext: for a lab network or a service mesh's sidecar, against services run with {@code vla.tls.insecure=true}. */
  public static RobotCredentials insecure() {
    return new RobotCredentials(null);
  }

  /** Credentials and the command line's other arguments, in their order. */
  public record CommandLine(RobotCredentials credentials, List<String> arguments) {}

  /**
   * Takes {@code --tls-ca FILE --tls-cert FILE --tls-key FILE} (also as {@code --tls-ca=FILE}) or
   * {@code --insecure} out of {@code args}, anywhere among them.
   *
   * @throws IllegalArgumentException naming what is missing or contradictory, and what to give
   */
  public static CommandLine fromCommandLine(String... args) {
    Path ca = null;
    Path certificate = null;
    Path privateKey = null;
    boolean insecure = false;
    List<String> rest = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      String name = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
      if (name.equals(CA_OPTION) || name.equals(CERT_OPTION) || name.equals(KEY_OPTION)) {
        String value;
        if (arg.contains("=")) {
          value = arg.substring(arg.indexOf('=') + 1);
        } else if (i + 1 < args.length) {
          value = args[++i];
        } else {
          throw new IllegalArgumentException(name + ": no file (expected: " + name + " FILE)");
        }
        Path path = Path.of(value);
        switch (name) {
          case CA_OPTION -> ca = path;
          case CERT_OPTION -> certificate = path;
          default -> privateKey = path;
        }
      } else if (arg.equals(INSECURE_OPTION)) {
        insecure = true;
      } else {
        rest.add(arg);
      }
    }
    return new CommandLine(of(ca, certificate, privateKey, insecure, "--tls-ca, --tls-cert and --tls-key",
        INSECURE_OPTION), List.copyOf(rest));
  }

  /**
   * From {@code vla.robot.tls.ca}, {@code vla.robot.tls.certificate}, {@code vla.robot.tls.private-key}
   * or {@code vla.robot.tls.insecure=true}, looked up with {@code properties} (e.g.
   * {@code System::getProperty}, or a {@code Properties} file's {@code getProperty}).
   */
  public static RobotCredentials fromProperties(Function<String, String> properties) {
    String ca = properties.apply("vla.robot.tls.ca");
    String certificate = properties.apply("vla.robot.tls.certificate");
    String privateKey = properties.apply("vla.robot.tls.private-key");
    boolean insecure = Boolean.parseBoolean(properties.apply("vla.robot.tls.insecure"));
    return of(ca == null ? null : Path.of(ca), certificate == null ? null : Path.of(certificate),
        privateKey == null ? null : Path.of(privateKey), insecure,
        "vla.robot.tls.ca, vla.robot.tls.certificate and vla.robot.tls.private-key", "vla.robot.tls.insecure=true");
  }

  private static RobotCredentials of(Path ca, Path certificate, Path privateKey, boolean insecure, String tlsNames,
      String insecureName) {
    boolean anyTls = ca != null || certificate != null || privateKey != null;
    if (insecure && anyTls) {
      throw new IllegalArgumentException(insecureName + " together with TLS files (expected: " + tlsNames
          + ", or " + insecureName + " alone)");
    }
    if (insecure) {
      return insecure();
    }
    if (!anyTls) {
      throw new IllegalArgumentException("no TLS files (expected: " + tlsNames + " naming the CA certificate, the"
          + " robot's certificate and its PKCS#8 key, e.g. from `./vla pki issue --role robot --name <robot-id>`;"
          + " or " + insecureName + " for plaintext)");
    }
    if (ca == null || certificate == null || privateKey == null) {
      List<String> missing = new ArrayList<>();
      if (ca == null) {
        missing.add("the CA certificate");
      }
      if (certificate == null) {
        missing.add("the robot's certificate");
      }
      if (privateKey == null) {
        missing.add("its private key");
      }
      throw new IllegalArgumentException("missing " + String.join(", ", missing) + " (expected: " + tlsNames + ")");
    }
    return tls(ca, certificate, privateKey);
  }

  /** Whether these are plaintext credentials. */
  public boolean isInsecure() {
    return material == null;
  }

  /** The TLS material (to {@link TlsMaterial#watch watch} for rotations); null when insecure. */
  public TlsMaterial material() {
    return material;
  }

  /** The gRPC channel credentials: TLS from the material, or plaintext. */
  public ChannelCredentials channelCredentials() {
    return material == null ? InsecureChannelCredentials.create() : material.channelCredentials();
  }

  /** Stops watching the files, if asked to; channels already built keep working. */
  @Override
  public void close() {
    if (material != null) {
      material.close();
    }
  }

  @Override
  public String toString() {
    return material == null ? "RobotCredentials[insecure]" : "RobotCredentials" + material;
  }
}
