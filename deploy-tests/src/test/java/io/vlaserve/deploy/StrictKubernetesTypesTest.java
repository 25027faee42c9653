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
}
