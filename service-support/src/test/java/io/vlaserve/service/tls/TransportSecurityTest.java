package io.vlaserve.service.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.TlsServerCredentials.ClientAuth;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;

/** Unit: the properties are checked once, naming the one at fault; vla.tls.* becomes Spring's SSL settings. */
class TransportSecurityTest {
  private static TlsProperties properties(Path certificate, Path key, Path trust, ClientAuth auth, boolean insecure) {
    return new TlsProperties(certificate, key, trust, auth, insecure, Duration.ofSeconds(30), true,
        Duration.ofSeconds(10));
  }

  @Test
  void withoutMaterialTheServiceRefusesToStartSayingWhatToGive() {
    assertRefused(properties(null, null, null, ClientAuth.OPTIONAL, false),
        "no TLS material: this service refuses to run plaintext. Give vla.tls.certificate");
    assertRefused(properties(null, null, null, ClientAuth.OPTIONAL, false), "or vla.tls.insecure=true");
  }

  @Test
  void insecureIsPlaintextEverywhere() {
    try (TransportSecurity security = TransportSecurity.start(properties(null, null, null, ClientAuth.NONE, true))) {
      assertFalse(security.tls());
      assertTrue(security.serverCredentials() instanceof InsecureServerCredentials);
      assertTrue(security.channelCredentials() instanceof InsecureChannelCredentials);
    }
  }

  @Test
  void contradictoryOrIncompleteSettingsAreRefusedNamingTheProperty() {
    Path cert = Path.of("/etc/vla/tls/tls.crt");
    Path key = Path.of("/etc/vla/tls/tls.key");
    assertRefused(properties(cert, key, null, ClientAuth.NONE, true), "vla.tls.insecure=true and vla.tls.certificate");
    assertRefused(properties(cert, null, null, ClientAuth.NONE, false), "without vla.tls.private-key");
    assertRefused(properties(cert, key, null, ClientAuth.REQUIRE, false), "vla.tls.client-auth=REQUIRE without vla.tls.trust");
    assertRefused(properties(null, key, null, ClientAuth.NONE, true), "set without vla.tls.certificate");
    assertRefused(properties(cert, key, null, ClientAuth.NONE, false), "vla.tls: certificate " + cert + ": no such file");
  }

  private static void assertRefused(TlsProperties properties, String expected) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TransportSecurity.start(properties));
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }

  @Test
  void theCertificateTurnsOnSpringsGrpcBundleAndTheHttpPemBundleWithReload() {
    StandardEnvironment environment = new StandardEnvironment();
    environment.getPropertySources().addFirst(new MapPropertySource("test", Map.of(
        "vla.tls.certificate", "/etc/vla/tls/tls.crt", "vla.tls.private-key", "/etc/vla/tls/tls.key",
        "vla.tls.trust", "/etc/vla/tls/ca.crt", "vla.tls.client-auth", "require",
        "spring.grpc.server.ssl.client-auth", "optional")));
    new TlsEnvironmentPostProcessor().postProcessEnvironment(environment, null);
    assertEquals("vla-grpc", environment.getProperty("spring.grpc.server.ssl.bundle"));
    assertEquals("optional", environment.getProperty("spring.grpc.server.ssl.client-auth"),
        "an explicit Spring setting wins");
    assertEquals("vla-http", environment.getProperty("server.ssl.bundle"));
    assertEquals("file:/etc/vla/tls/tls.crt", environment.getProperty("spring.ssl.bundle.pem.vla-http.keystore.certificate"));
    assertEquals("file:/etc/vla/tls/ca.crt", environment.getProperty("spring.ssl.bundle.pem.vla-http.truststore.certificate"));
    assertEquals("true", environment.getProperty("spring.ssl.bundle.pem.vla-http.reload-on-update"));
    assertEquals("want", environment.getProperty("server.ssl.client-auth"),
        "HTTPS asks for a client certificate without requiring one (health probes hold none)");
  }

  @Test
  void withoutACertificateNoSpringSslSettingIsAdded() {
    StandardEnvironment environment = new StandardEnvironment();
    new TlsEnvironmentPostProcessor().postProcessEnvironment(environment, null);
    assertNull(environment.getProperty("spring.grpc.server.ssl.bundle"));
    assertNull(environment.getProperty("server.ssl.bundle"));
  }
}
