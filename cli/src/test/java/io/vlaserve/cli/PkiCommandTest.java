package io.vlaserve.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.tls.TlsMaterial;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code vla pki init} and {@code vla pki issue} writing into a temporary directory. */
class PkiCommandTest {
  @TempDir Path dir;

  record Run(int exit, String out, String err) {}

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine commandLine = VlaCommand.commandLine();
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));
    int exit = commandLine.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void initWritesTheCaTheFourServicesAndTheCliOperatorAndSaysWhere() throws Exception {
    Run run = run("pki", "init", "--dir", dir.toString());
    assertEquals(0, run.exit(), run.err());
    assertTrue(run.out().startsWith("CA: " + dir.resolve("ca.crt")), run.out());
    for (String name : List.of("planner-gateway", "policy-service", "controller-bridge", "tokenizer-service")) {
      Path files = dir.resolve(name);
      assertTrue(run.out().contains("spiffe://vla-serve/service/" + name), run.out());
      assertTrue(run.out().contains(files + "/{tls.crt,tls.key,ca.crt} (issued"), run.out());
      TlsMaterial material = TlsMaterial.load(files.resolve("tls.crt"), files.resolve("tls.key"), files.resolve("ca.crt"));
      assertTrue(names(material.currentCertificate()).containsAll(List.of("2:localhost", "2:" + name,
          "2:" + name + ".vla-serve.svc", "7:127.0.0.1", "6:spiffe://vla-serve/service/" + name)));
    }
    assertTrue(run.out().contains("spiffe://vla-serve/operator/vla-cli"), run.out());
    assertTrue(Files.isRegularFile(dir.resolve("vla-cli").resolve("tls.key")));
    assertTrue(run.out().contains("./vla serve policy --tls-cert " + dir.resolve("policy-service/tls.crt")), run.out());

    Run again = run("pki", "init", "--dir", dir.toString());
    assertEquals(0, again.exit());
    assertEquals(5, again.out().split("\\(reused, ", -1).length - 1, "a re-run reuses every certificate: " + again.out());
  }

  @Test
  void issueAddsARobotNamedByItsRobotIdForClientAuthOnly() throws Exception {
    Run run = run("pki", "issue", "--role", "robot", "--name", "arm-3", "--dir", dir.toString(), "--days", "7");
    assertEquals(0, run.exit(), run.err());
    assertTrue(run.out().contains("spiffe://vla-serve/robot/arm-3"), run.out());
    Path files = dir.resolve("arm-3");
    X509Certificate certificate = TlsMaterial.load(files.resolve("tls.crt"), files.resolve("tls.key"),
        dir.resolve("ca.crt")).currentCertificate();
    assertEquals(List.of("6:spiffe://vla-serve/robot/arm-3"), List.copyOf(names(certificate)));
    assertEquals(List.of("1.3.6.1.5.5.7.3.2"), certificate.getExtendedKeyUsage());
    long days = (certificate.getNotAfter().getTime() - System.currentTimeMillis()) / 86_400_000L;
    assertTrue(days == 6 || days == 7, "valid 7 days: " + certificate.getNotAfter());
  }

  @Test
  void issueTakesExtraNamesForAService() throws Exception {
    Run run = run("pki", "issue", "--role", "service", "--name", "policy-service", "--dns", "gpu-7.lab", "--ip",
        "10.0.0.7", "--dir", dir.toString());
    assertEquals(0, run.exit(), run.err());
    Path files = dir.resolve("policy-service");
    assertTrue(names(TlsMaterial.load(files.resolve("tls.crt"), files.resolve("tls.key"), null).currentCertificate())
        .containsAll(List.of("2:gpu-7.lab", "7:10.0.0.7", "2:localhost", "7:127.0.0.1")));
  }

  @Test
  void anUnknownRoleIsRefusedNamingTheRoles() {
    Run run = run("pki", "issue", "--role", "admin", "--name", "x", "--dir", dir.toString());
    assertEquals(2, run.exit());
    assertTrue(run.err().contains("role \"admin\" (expected one of: robot, operator, service, viewer)"), run.err());
  }

  private static java.util.Set<String> names(X509Certificate certificate) throws Exception {
    java.util.Set<String> names = new java.util.LinkedHashSet<>();
    for (List<?> name : certificate.getSubjectAlternativeNames()) {
      names.add(name.get(0) + ":" + name.get(1));
    }
    return names;
  }
}
