package io.vlaserve.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.networking.v1.IPBlock;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The strict parse catches what fabric8 alone accepts silently; runs without kubectl. */
class StrictKubernetesTypesTest {
  private static final String DEPLOYMENT = """
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: demo
      spec:
        selector:
          matchLabels: {app: demo}
        template:
          metadata:
            labels: {app: demo}
          spec:
            containers:
              - name: demo
                image: demo
                %s:
                  grpc: {port: 50052}
      """;

  @Test
  void acceptsAWellFormedDeployment() {
    var objects = RenderedOverlay.parseAll(DEPLOYMENT.formatted("readinessProbe"));
    Deployment deployment = (Deployment) objects.getFirst();
    assertEquals(50052, deployment.getSpec().getTemplate().getSpec().getContainers().getFirst().getReadinessProbe().getGrpc().getPort());
  }

  @Test
  void rejectsAMisspeltFieldWithItsPath() {
    var error = assertThrows(IllegalArgumentException.class,
        () -> RenderedOverlay.parseAll(DEPLOYMENT.formatted("readinesProbe")));
    assertTrue(error.getMessage().contains("spec.template.spec.containers[0].readinesProbe"), error.getMessage());
  }

  @Test
  void rejectsAFieldAtTheWrongLevel() {
    String yaml = """
        apiVersion: v1
        kind: Service
        metadata:
          name: demo
          selector: {app: demo}
        spec:
          ports: [{port: 80}]
        """;
    var error = assertThrows(IllegalArgumentException.class, () -> RenderedOverlay.parseAll(yaml));
    assertTrue(error.getMessage().contains("metadata.selector"), error.getMessage());
  }

  @Test
  void rejectsAKindItDoesNotKnow() {
    var error = assertThrows(IllegalArgumentException.class, () -> RenderedOverlay.parseAll("""
        apiVersion: extensions/v1beta1
        kind: Deployment
        metadata: {name: old}
        """));
    assertTrue(error.getMessage().contains("unknown apiVersion/kind extensions/v1beta1/Deployment"), error.getMessage());
  }

  @Test
  void ipBlocksHonourTheirExceptions() {
    IPBlock block = new IPBlock("0.0.0.0/0", List.of("10.0.0.0/8", "192.168.0.0/16"));
    assertTrue(NetworkPolicyModel.inBlock(block, "198.51.100.7"));
    assertFalse(NetworkPolicyModel.inBlock(block, "10.1.2.3"));
    assertFalse(NetworkPolicyModel.inBlock(block, "192.168.10.20"));
    assertTrue(NetworkPolicyModel.inCidr("172.16.0.0/12", "172.31.255.1"));
    assertFalse(NetworkPolicyModel.inCidr("172.16.0.0/12", "172.32.0.1"));
  }

  /** A service Deployment as the base writes it; the TLS tests break one thing at a time. */
  private static final String TLS_DEPLOYMENT = """
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: demo
      spec:
        selector:
          matchLabels: {app: demo}
        template:
          metadata:
            labels: {app: demo}
          spec:
            containers:
              - name: demo
                image: demo
                ports:
                  - {name: grpc, containerPort: 50052}
                  - {name: http, containerPort: 8082}
                env:
                  - {name: VLA_TLS_CERTIFICATE, value: /etc/vla/tls/tls.crt}
                  - {name: VLA_TLS_PRIVATE_KEY, value: /etc/vla/tls/tls.key}
                  - {name: VLA_TLS_TRUST, value: /etc/vla/tls/ca.crt}
                  - {name: VLA_TLS_CLIENT_AUTH, value: optional}
                startupProbe:
                  httpGet: {path: /actuator/health/readiness, port: http, scheme: HTTPS}
                readinessProbe:
                  httpGet: {path: /actuator/health/readiness, port: http, scheme: HTTPS}
                livenessProbe:
                  httpGet: {path: /actuator/health/liveness, port: http, scheme: HTTPS}
                volumeMounts:
                  - {name: tls, mountPath: /etc/vla/tls, readOnly: true}
            volumes:
              - name: tls
                secret:
                  secretName: demo-tls
                  defaultMode: 288
                  items:
                    - {key: tls.crt, path: tls.crt}
                    - {key: tls.key, path: tls.key}
                    - {key: ca.crt, path: ca.crt}
      """;

  private static List<String> tlsProblems(String yaml) {
    Deployment deployment = (Deployment) RenderedOverlay.parseAll(yaml).getFirst();
    var pod = deployment.getSpec().getTemplate().getSpec();
    var container = pod.getContainers().getFirst();
    List<String> problems = new java.util.ArrayList<>(TlsManifestChecks.secretProblems(pod, container, "demo-tls", java.util.Map.of()));
    problems.addAll(TlsManifestChecks.probeProblems(container, "http", 8082));
    return problems;
  }

  @Test
  void tlsChecksAcceptTheBaseShape() {
    assertEquals(List.of(), tlsProblems(TLS_DEPLOYMENT));
  }

  @Test
  void tlsChecksRefuseASubPathMountWhichRenewalsNeverReach() {
    String yaml = TLS_DEPLOYMENT.replace("{name: tls, mountPath: /etc/vla/tls, readOnly: true}",
        "{name: tls, mountPath: /etc/vla/tls, readOnly: true, subPath: tls}");
    assertTrue(tlsProblems(yaml).stream().anyMatch(p -> p.contains("uses subPath")), tlsProblems(yaml).toString());
  }

  @Test
  void tlsChecksRefuseAWritableMountAWorldReadableKeyAndAWrongKey() {
    String yaml = TLS_DEPLOYMENT.replace("readOnly: true}", "readOnly: false}").replace("defaultMode: 288", "defaultMode: 420")
        .replace("{key: tls.key, path: tls.key}", "{key: key.pem, path: tls.key}");
    List<String> problems = tlsProblems(yaml);
    assertTrue(problems.stream().anyMatch(p -> p.contains("is not readOnly")), problems.toString());
    assertTrue(problems.stream().anyMatch(p -> p.contains("defaultMode 644")), problems.toString());
    assertTrue(problems.stream().anyMatch(p -> p.contains("reads key key.pem")), problems.toString());
  }

  @Test
  void tlsChecksRefuseInsecureModeAndMissingSettings() {
    String yaml = TLS_DEPLOYMENT.replace("- {name: VLA_TLS_TRUST, value: /etc/vla/tls/ca.crt}", "- {name: VLA_TLS_INSECURE, value: \"true\"}")
        .replace("value: optional", "value: none");
    List<String> problems = tlsProblems(yaml);
    assertTrue(problems.stream().anyMatch(p -> p.startsWith("VLA_TLS_INSECURE is set")), problems.toString());
    assertTrue(problems.stream().anyMatch(p -> p.startsWith("VLA_TLS_TRUST missing")), problems.toString());
    assertTrue(problems.stream().anyMatch(p -> p.startsWith("VLA_TLS_CLIENT_AUTH \"none\"")), problems.toString());
  }

  @Test
  void tlsChecksRefuseGrpcAndPlainHttpProbes() {
    String https = "httpGet: {path: /actuator/health/readiness, port: http, scheme: HTTPS}";
    String yaml = TLS_DEPLOYMENT
        .replace("httpGet: {path: /actuator/health/liveness, port: http, scheme: HTTPS}", "grpc: {port: 50052}")
        .replaceFirst(java.util.regex.Pattern.quote(https), "httpGet: {path: /actuator/health/readiness, port: http}");
    List<String> problems = tlsProblems(yaml);
    assertTrue(problems.stream().anyMatch(p -> p.startsWith("livenessProbe is a gRPC probe")), problems.toString());
    assertTrue(problems.stream().anyMatch(p -> p.startsWith("startupProbe scheme null")), problems.toString());
  }

  private static final String CERTIFICATE = """
      apiVersion: cert-manager.io/v1
      kind: Certificate
      metadata: {name: demo, namespace: vla-serve}
      spec:
        secretName: demo-tls
        %s: [demo]
        uris: [spiffe://vla-serve/service/demo]
        usages: [server auth, client auth, %s]
        privateKey: {algorithm: ECDSA, size: 256, encoding: PKCS8, rotationPolicy: Always}
        issuerRef: {name: vla-serve-ca, kind: Issuer, group: cert-manager.io}
      """;

  @Test
  void certManagerCertificatesAreGenericResourcesCheckedAgainstCertManagersFields() {
    var certificate = (io.fabric8.kubernetes.api.model.GenericKubernetesResource)
        RenderedOverlay.parseAll(CERTIFICATE.formatted("dnsNames", "digital signature")).getFirst();
    assertEquals(List.of("demo"), CertManager.strings(CertManager.spec(certificate).get("dnsNames")));
    var misspelt = assertThrows(IllegalArgumentException.class,
        () -> RenderedOverlay.parseAll(CERTIFICATE.formatted("dnsName", "digital signature")));
    assertTrue(misspelt.getMessage().contains("spec.dnsName"), misspelt.getMessage());
    var usage = assertThrows(IllegalArgumentException.class,
        () -> RenderedOverlay.parseAll(CERTIFICATE.formatted("dnsNames", "digital-signature")));
    assertTrue(usage.getMessage().contains("spec.usages: digital-signature"), usage.getMessage());
  }

  @Test
  void goDurationsAsCertManagerReadsThem() {
    assertEquals(java.time.Duration.ofDays(30), CertManager.duration("720h"));
    assertEquals(java.time.Duration.ofMinutes(90), CertManager.duration("1h30m"));
    assertThrows(IllegalArgumentException.class, () -> CertManager.duration("30d"));
  }
}
