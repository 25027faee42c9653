package io.vlaserve.deploy;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.networking.v1.IPBlock;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPeer;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPort;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Map;

/**
 * Evaluates NetworkPolicies the way the API defines them, for the connections the tests enumerate.
 *
 * <p>A pod selected by no policy of a direction is open in that direction; a selected pod admits
 * a connection when any rule of any selecting policy admits it (peer and port). Only policies of
 * the pod's own namespace apply. Endpoints outside the modelled namespace are taken as open (their
 * policies are not ours). An {@code ipBlock} is matched against addresses outside the cluster only:
 * whether it also matches pod addresses is left to the network plugin by the API, so the manifests
 * never rely on it for in-cluster callers.
 */
final class NetworkPolicyModel {
  /**
   * Something that opens or accepts connections.
   *
   * @param name for messages
   * @param namespace the pod's namespace; null for an address outside the cluster
   * @param labels the pod's labels
   * @param namespaceLabels its namespace's labels
   * @param address for addresses outside the cluster
   * @param namedPorts the pod's named container ports
   */
  record Endpoint(String name, String namespace, Map<String, String> labels, Map<String, String> namespaceLabels,
      String address, Map<String, Integer> namedPorts) {

    static Endpoint pod(String name, String namespace, Map<String, String> labels, Map<String, String> namespaceLabels,
        Map<String, Integer> namedPorts) {
      return new Endpoint(name, namespace, labels, namespaceLabels, null, namedPorts);
    }

    static Endpoint external(String name, String address) {
      return new Endpoint(name, null, Map.of(), Map.of(), address, Map.of());
    }

    boolean isPod() {
      return namespace != null;
    }
  }

  private final String namespace;
  private final List<NetworkPolicy> policies;

  NetworkPolicyModel(String namespace, List<NetworkPolicy> policies) {
    this.namespace = namespace;
    this.policies = policies;
  }

  /** Whether {@code source} may open a connection to {@code destination} on {@code port}/{@code protocol}. */
  boolean allows(Endpoint source, Endpoint destination, int port, String protocol) {
    return egressAllows(source, destination, port, protocol) && ingressAllows(destination, source, port, protocol);
  }

  private boolean egressAllows(Endpoint source, Endpoint destination, int port, String protocol) {
    if (!namespace.equals(source.namespace())) {
      return true;
    }
    List<NetworkPolicy> selecting = selecting(source, "Egress");
    return selecting.isEmpty() || selecting.stream()
        .flatMap(p -> p.getSpec().getEgress() == null ? java.util.stream.Stream.empty() : p.getSpec().getEgress().stream())
        .anyMatch(rule -> peersMatch(rule.getTo(), destination) && portsMatch(rule.getPorts(), destination, port, protocol));
  }

  private boolean ingressAllows(Endpoint destination, Endpoint source, int port, String protocol) {
    if (!namespace.equals(destination.namespace())) {
      return true;
    }
    List<NetworkPolicy> selecting = selecting(destination, "Ingress");
    return selecting.isEmpty() || selecting.stream()
        .flatMap(p -> p.getSpec().getIngress() == null ? java.util.stream.Stream.empty() : p.getSpec().getIngress().stream())
        .anyMatch(rule -> peersMatch(rule.getFrom(), source) && portsMatch(rule.getPorts(), destination, port, protocol));
  }

  private List<NetworkPolicy> selecting(Endpoint pod, String direction) {
    return policies.stream()
        .filter(p -> LabelSelectors.matches(p.getSpec().getPodSelector(), pod.labels()))
        .filter(p -> policyTypes(p).contains(direction))
        .toList();
  }

  /** policyTypes as the API defaults them when absent: Ingress, plus Egress if there are egress rules. */
  private static List<String> policyTypes(NetworkPolicy policy) {
    List<String> types = policy.getSpec().getPolicyTypes();
    if (types != null && !types.isEmpty()) {
      return types;
    }
    return policy.getSpec().getEgress() != null && !policy.getSpec().getEgress().isEmpty()
        ? List.of("Ingress", "Egress") : List.of("Ingress");
  }

  private boolean peersMatch(List<NetworkPolicyPeer> peers, Endpoint other) {
    return peers == null || peers.isEmpty() || peers.stream().anyMatch(peer -> peerMatches(peer, other));
  }

  private boolean peerMatches(NetworkPolicyPeer peer, Endpoint other) {
    if (peer.getIpBlock() != null) {
      return !other.isPod() && inBlock(peer.getIpBlock(), other.address());
    }
    if (!other.isPod()) {
      return false;
    }
    boolean namespaceOk = peer.getNamespaceSelector() == null
        ? namespace.equals(other.namespace())
        : LabelSelectors.matches(peer.getNamespaceSelector(), other.namespaceLabels());
    boolean podOk = peer.getPodSelector() == null || LabelSelectors.matches(peer.getPodSelector(), other.labels());
    return namespaceOk && podOk;
  }

  private static boolean portsMatch(List<NetworkPolicyPort> ports, Endpoint destination, int port, String protocol) {
    if (ports == null || ports.isEmpty()) {
      return true;
    }
    for (NetworkPolicyPort rulePort : ports) {
      String ruleProtocol = rulePort.getProtocol() == null ? "TCP" : rulePort.getProtocol();
      if (!ruleProtocol.equals(protocol)) {
        continue;
      }
      IntOrString value = rulePort.getPort();
      if (value == null) {
        return true;
      }
      Integer number = value.getIntVal() != null ? value.getIntVal() : destination.namedPorts().get(value.getStrVal());
      if (number == null) {
        continue;
      }
      int end = rulePort.getEndPort() != null ? rulePort.getEndPort() : number;
      if (port >= number && port <= end) {
        return true;
      }
    }
    return false;
  }

  static boolean inBlock(IPBlock block, String address) {
    if (!inCidr(block.getCidr(), address)) {
      return false;
    }
    return block.getExcept() == null || block.getExcept().stream().noneMatch(except -> inCidr(except, address));
  }

  static boolean inCidr(String cidr, String address) {
    String[] parts = cidr.split("/");
    byte[] network = bytes(parts[0]);
    byte[] host = bytes(address);
    if (network.length != host.length) {
      return false;
    }
    int bits = Integer.parseInt(parts[1]);
    for (int i = 0; i < bits; i++) {
      int mask = 0x80 >>> (i % 8);
      if ((network[i / 8] & mask) != (host[i / 8] & mask)) {
        return false;
      }
    }
    return true;
  }

  private static byte[] bytes(String literal) {
    try {
      return InetAddress.getByName(literal).getAddress();
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("not an IP address literal: " + literal, e);
    }
  }
}
