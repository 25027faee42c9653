package io.vlaserve.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.InsecureChannelCredentials;
import io.grpc.TlsChannelCredentials;
import io.vlaserve.pki.CertificateAuthority;
import io.vlaserve.pki.CertificateRequest;
import io.vlaserve.pki.IssuedCertificate;
import io.vlaserve.pki.Role;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * What the commands pass to each service and which credentials their clients dial with, checked
 * without starting anything: the demo and loadtest on the demo PKI or {@code --insecure}, and
 * {@code serve} mapping its options or refusing.
 */
class SecureArgumentsTest {
  @TempDir Path dir;

  @SuppressWarnings("unchecked")
  private static <T> T parse(String... args) {
    CommandLine.ParseResult result = VlaCommand.commandLine().parseArgs(args);
    return (T) result.subcommand().commandSpec().userObject();
  }

  @Nested
  class Demo {
    @Test
    void givesEachServiceItsOwnCertificateTheCaAndOptionalClientAuth() {
      Security security = DemoCommand.class.cast(parse("demo", "--pki-dir", dir.toString())).security();
      for (Map.Entry<String, String> service : Services.MODULES.entrySet()) {
        Path own = dir.resolve(service.getValue());
        assertEquals(List.of("--vla.tls.certificate=" + own.resolve("tls.crt"),
            "--vla.tls.private-key=" + own.resolve("tls.key"), "--vla.tls.trust=" + own.resolve("ca.crt"),
            "--vla.tls.client-auth=optional"), security.serviceArgs(service.getKey()), service.getKey());
      }
      assertEquals(dir, security.authority().directory());
    }

    @Test
    void itsProbesPresentTheOperatorCertificateAndEachRobotItsOwn() throws Exception {
      Security security = DemoCommand.class.cast(parse("demo", "--pki-dir", dir.toString())).security();
      assertInstanceOf(TlsChannelCredentials.class, security.operator());
      assertEquals("spiffe://vla-serve/operator/vla-cli", uri(security.operatorMaterial().currentCertificate()));
      assertInstanceOf(TlsChannelCredentials.class, security.robot("robot-1"));
      assertEquals("spiffe://vla-serve/robot/robot-1", uri(security.robotMaterial("robot-1").currentCertificate()));
      assertEquals("spiffe://vla-serve/robot/robot-2", uri(security.robotMaterial("robot-2").currentCertificate()));
      assertEquals("https://127.0.0.1:8081/actuator/prometheus", security.http(8081, "/actuator/prometheus").toString());
      assertNotNull(security.httpClient().sslContext());
    }

    @Test
    void reusesTheCaOfAnEarlierRun() {
      IssuedCertificate earlier = CertificateAuthority.openOrCreate(dir).issue(CertificateRequest.service("policy-service"));
      Security security = DemoCommand.class.cast(parse("demo", "--pki-dir", dir.toString())).security();
      assertEquals(earlier.certificate(), security.authority().issue(CertificateRequest.service("policy-service"))
          .certificate());
    }

    @Test
    void insecureTellsEveryServiceSoAndDialsPlaintext() {
      Security security = DemoCommand.class.cast(parse("demo", "--insecure", "--pki-dir", dir.toString())).security();
      assertTrue(security.isInsecure());
      for (String service : Services.MODULES.keySet()) {
        assertEquals(List.of("--vla.tls.insecure=true"), security.serviceArgs(service));
      }
      assertInstanceOf(InsecureChannelCredentials.class, security.operator());
      assertInstanceOf(InsecureChannelCredentials.class, security.robot("robot-1"));
      assertEquals("http://127.0.0.1:8081/x", security.http(8081, "/x").toString());
      assertNull(security.authority());
    }
  }

  @Nested
  class Loadtest {
    @Test
    void startingItsOwnServicesUsesTheDemoPkiWithACertificatePerRobot() throws Exception {
      Security security = LoadtestCommand.class.cast(parse("loadtest", "--pki-dir", dir.toString())).security();
      assertEquals(dir, security.authority().directory());
      assertEquals("--vla.tls.certificate=" + dir.resolve("policy-service/tls.crt"), security.serviceArgs("policy").get(0));
      assertEquals("spiffe://vla-serve/robot/load-7", uri(security.robotMaterial("load-7").currentCertificate()));
    }

    @Test
    void anAddressNeedsTheThreeFilesOrInsecure() {
      LoadtestCommand command = parse("loadtest", "--address", "gpu-7:50052");
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, command::security);
      assertTrue(e.getMessage().contains("needs --tls-ca, --tls-cert and --tls-key") && e.getMessage().contains(
          "or --insecure"), e.getMessage());
      assertTrue(LoadtestCommand.class.cast(parse("loadtest", "--address", "gpu-7:50052", "--insecure")).security()
          .isInsecure());
    }

    @Test
    void anAddressWithFilesPresentsThatCertificateForEveryRobot() throws Exception {
      CertificateAuthority ca = CertificateAuthority.openOrCreate(dir);
      IssuedCertificate client = ca.issue(CertificateRequest.client(Role.SERVICE, "loadtest"));
      Security security = LoadtestCommand.class.cast(parse("loadtest", "--address", "gpu-7:50052", "--tls-ca",
          client.caFile().toString(), "--tls-cert", client.certificateFile().toString(), "--tls-key",
          client.privateKeyFile().toString())).security();
      assertNull(security.authority(), "no CA of its own to issue from");
      assertInstanceOf(TlsChannelCredentials.class, security.robot("load-0"));
      assertEquals("spiffe://vla-serve/service/loadtest", uri(security.operatorMaterial().currentCertificate()));
    }

    @Test
    void filesWithoutAnAddressOrWithInsecureAreRefused() {
      assertTrue(assertThrows(IllegalArgumentException.class, LoadtestCommand.class.cast(parse("loadtest", "--tls-ca",
          "ca.crt"))::security).getMessage().contains("are for --address"));
      assertTrue(assertThrows(IllegalArgumentException.class, LoadtestCommand.class.cast(parse("loadtest",
          "--insecure", "--tls-ca", "ca.crt"))::security).getMessage().startsWith("--insecure together with"));
    }
  }

  @Nested
  class Serve {
    @Test
    void refusesBeforeStartingAJvmWithoutMaterialNamingWhatToGive() {
      PrintStream oldErr = System.err;
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      int exit;
      try {
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        exit = VlaCommand.commandLine().execute("serve", "policy");
      } finally {
        System.setErr(oldErr);
      }
      String message = err.toString(StandardCharsets.UTF_8);
      assertEquals(2, exit, message);
      Path pki = Security.defaultPkiDir();
      assertTrue(message.startsWith("vla serve policy: no TLS material"), message);
      assertTrue(message.contains("Give --tls-cert FILE --tls-key FILE --tls-ca FILE"), message);
      assertTrue(message.contains("./vla pki init, then --tls-cert " + pki.resolve("policy-service/tls.crt")
          + " --tls-key " + pki.resolve("policy-service/tls.key") + " --tls-ca " + pki.resolve("ca.crt")), message);
      assertTrue(message.contains("or --insecure for plaintext"), message);
    }

    @Test
    void mapsItsOptionsToTheServicesProperties() {
      ServeCommand serve = parse("serve", "controller", "--tls-cert", "c.crt", "--tls-key", "c.key", "--tls-ca", "ca.crt");
      assertEquals(List.of("--vla.tls.certificate=c.crt", "--vla.tls.private-key=c.key", "--vla.tls.trust=ca.crt",
          "--vla.tls.client-auth=optional"), serve.securityArgs(Map.of()));
      ServeCommand require = parse("serve", "controller", "--tls-cert", "c.crt", "--tls-key", "c.key", "--tls-ca",
          "ca.crt", "--client-auth", "require");
      assertEquals("--vla.tls.client-auth=require", require.securityArgs(Map.of()).get(3));
      assertEquals(List.of("--vla.tls.insecure=true"),
          ServeCommand.class.cast(parse("serve", "gateway", "--insecure")).securityArgs(Map.of()));
    }

    @Test
    void acceptsMaterialPassedThroughOrFromTheEnvironment() {
      assertEquals(List.of(), ServeCommand.class.cast(parse("serve", "tokenizer", "--",
          "--vla.tls.certificate=t.crt", "--vla.tls.private-key=t.key")).securityArgs(Map.of()));
      assertEquals(List.of(), ServeCommand.class.cast(parse("serve", "tokenizer")).securityArgs(
          Map.of("VLA_TLS_CERTIFICATE", "/etc/vla/tls/tls.crt")));
    }

    @Test
    void refusesHalfTheFilesAndFilesWithInsecure() {
      ServeCommand half = parse("serve", "policy", "--tls-cert", "p.crt");
      assertEquals("TLS needs --tls-cert, --tls-key and --tls-ca (given: --tls-cert)",
          assertThrows(ServeCommand.Refused.class, () -> half.securityArgs(Map.of())).getMessage());
      ServeCommand both = parse("serve", "policy", "--insecure", "--tls-ca", "ca.crt");
      assertTrue(assertThrows(ServeCommand.Refused.class, () -> both.securityArgs(Map.of())).getMessage()
          .startsWith("--insecure together with"));
      ServeCommand badMode = parse("serve", "policy", "--tls-cert", "p.crt", "--tls-key", "p.key", "--tls-ca", "ca.crt",
          "--client-auth", "always");
      assertEquals("--client-auth always (expected: none, optional or require)",
          assertThrows(ServeCommand.Refused.class, () -> badMode.securityArgs(Map.of())).getMessage());
    }
  }

  private static String uri(X509Certificate certificate) throws Exception {
    for (List<?> name : certificate.getSubjectAlternativeNames()) {
      if ((Integer) name.get(0) == 6) {
        return (String) name.get(1);
      }
    }
    return null;
  }
}
