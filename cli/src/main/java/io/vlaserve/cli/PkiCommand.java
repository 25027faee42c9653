package io.vlaserve.cli;

import io.vlaserve.pki.CertificateAuthority;
import io.vlaserve.pki.CertificateRequest;
import io.vlaserve.pki.IssuedCertificate;
import io.vlaserve.pki.Role;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code vla pki}: the throwaway CA the demo uses, for running the services by hand. {@code init}
 * writes the CA, a certificate per service and the CLI's operator certificate; {@code issue} adds
 * identities (robots, operators, viewers, more services). Files in cert-manager's layout:
 * {@code DIR/ca.crt}, {@code DIR/<name>/tls.crt}, {@code tls.key}, {@code ca.crt}. Re-runs reuse
 * what still fits.
 */
@Command(name = "pki", mixinStandardHelpOptions = true,
    description = {"A throwaway CA and certificates for the demo and local runs (not for production:"
        + " use cert-manager or your CA there).",
        "Identities are URI names spiffe://vla-serve/<role>/<name>."},
    subcommands = {PkiCommand.Init.class, PkiCommand.Issue.class})
final class PkiCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** The directory option both subcommands share. */
  static final class DirOption {
    @Option(names = "--dir", paramLabel = "DIR", description = "Where the CA and certificates live (default:"
        + " target/demo/pki in the checkout, where ./vla demo looks).")
    Path dir;

    Path resolve() {
      return dir != null ? dir.toAbsolutePath() : Security.defaultPkiDir();
    }
  }

  @Command(name = "init", mixinStandardHelpOptions = true,
      description = "Create (or reuse) the CA, a certificate for each service (planner-gateway, policy-service,"
          + " controller-bridge, tokenizer-service) and the CLI's operator certificate (vla-cli).")
  static final class Init implements Callable<Integer> {
    @picocli.CommandLine.Mixin DirOption dir = new DirOption();
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      CertificateAuthority ca = CertificateAuthority.openOrCreate(dir.resolve());
      out.println("CA: " + ca.certificateFile() + " (" + ca.certificate().getSubjectX500Principal().getName()
          + ", valid until " + ca.certificate().getNotAfter().toInstant() + ")");
      List<IssuedCertificate> issued = new ArrayList<>();
      for (String module : Services.MODULES.values()) {
        issued.add(ca.issue(CertificateRequest.service(module)));
      }
      issued.add(ca.issue(CertificateRequest.client(Role.OPERATOR, Security.OPERATOR)));
      issued.forEach(i -> print(out, i));
      IssuedCertificate policy = issued.get(1);
      out.println();
      out.println("Run a service with its certificate, e.g.:");
      out.println("  ./vla serve policy --tls-cert " + policy.certificateFile() + " --tls-key "
          + policy.privateKeyFile() + " --tls-ca " + ca.certificateFile());
      out.println("A robot's certificate: ./vla pki issue --role robot --name <robot-id>");
      out.flush();
      return 0;
    }
  }

  @Command(name = "issue", mixinStandardHelpOptions = true,
      description = "Issue (or reuse) a certificate for one identity, creating the CA if there is none.")
  static final class Issue implements Callable<Integer> {
    @picocli.CommandLine.Mixin DirOption dir = new DirOption();
    @Spec CommandSpec spec;

    @Option(names = "--role", required = true, description = "robot, operator, service or viewer.")
    String role;

    @Option(names = "--name", required = true, description = "The robot id, service or person: DIR/NAME/ holds the files.")
    String name;

    @Option(names = "--dns", paramLabel = "NAME", description = "Extra DNS names (services already get localhost, NAME and"
        + " NAME.vla-serve.svc); repeatable.")
    List<String> dns = new ArrayList<>();

    @Option(names = "--ip", paramLabel = "ADDRESS", description = "Extra IP addresses (services already get 127.0.0.1);"
        + " repeatable.")
    List<String> ips = new ArrayList<>();

    @Option(names = "--days", defaultValue = "90", description = "Validity in days (default: ${DEFAULT-VALUE}).")
    int days;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      Role parsed;
      try {
        parsed = Role.parse(role);
        if (days < 1) {
          throw new IllegalArgumentException("--days " + days + " (expected: >= 1)");
        }
      } catch (IllegalArgumentException e) {
        spec.commandLine().getErr().println("vla pki issue: " + e.getMessage());
        return 2;
      }
      CertificateRequest request = parsed.serves() ? CertificateRequest.service(name)
          : CertificateRequest.client(parsed, name);
      List<String> allDns = new ArrayList<>(request.dnsNames());
      dns.stream().filter(d -> !allDns.contains(d)).forEach(allDns::add);
      List<String> allIps = new ArrayList<>(request.ipAddresses());
      ips.stream().filter(a -> !allIps.contains(a)).forEach(allIps::add);
      CertificateAuthority ca = CertificateAuthority.openOrCreate(dir.resolve());
      IssuedCertificate issued = ca.issue(request.withDnsNames(allDns).withIpAddresses(allIps)
          .withValidity(Duration.ofDays(days)));
      out.println("CA: " + ca.certificateFile());
      print(out, issued);
      out.flush();
      return 0;
    }
  }

  static void print(PrintWriter out, IssuedCertificate issued) {
    out.printf("%-40s %s/{tls.crt,tls.key,ca.crt} (%s, valid until %s)%n", issued.identity().uri(),
        issued.directory(), issued.reused() ? "reused" : "issued", issued.certificate().getNotAfter().toInstant());
  }
}
