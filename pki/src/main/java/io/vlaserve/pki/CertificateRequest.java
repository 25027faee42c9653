package io.vlaserve.pki;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What a leaf certificate should say: its identity (the URI name), the DNS names and IP addresses
 * it may serve as, and how long it is valid.
 *
 * @param identity the one URI subject alternative name
 * @param dnsNames DNS subject alternative names (services: the names clients dial)
 * @param ipAddresses IP subject alternative names, literal addresses such as {@code 127.0.0.1}
 * @param validity from issue to expiry
 */
public record CertificateRequest(Identity identity, List<String> dnsNames, List<String> ipAddresses,
    Duration validity) {
  /** Leaves live 90 days unless asked otherwise; re-runs reissue them before they expire. */
  public static final Duration DEFAULT_VALIDITY = Duration.ofDays(90);

  public CertificateRequest {
    Objects.requireNonNull(identity, "identity");
    dnsNames = List.copyOf(dnsNames);
    ipAddresses = ipAddresses.stream().map(CertificateRequest::literal).toList();
    if (validity == null || validity.isNegative() || validity.isZero()) {
      throw new IllegalArgumentException("validity " + validity + " (expected: > 0)");
    }
  }

  /**
   * A service's certificate, as the suite dials it on one machine or in Kubernetes:
   * {@code localhost}, {@code <name>}, {@code <name>.vla-serve.svc} and {@code 127.0.0.1}.
   */
  public static CertificateRequest service(String name) {
    return new CertificateRequest(new Identity(Role.SERVICE, name),
        List.of("localhost", name, name + ".vla-serve.svc"), List.of("127.0.0.1"), DEFAULT_VALIDITY);
  }

  /** A client's certificate (robot, operator, viewer): the identity alone, no host names. */
  public static CertificateRequest client(Role role, String name) {
    return new CertificateRequest(new Identity(role, name), List.of(), List.of(), DEFAULT_VALIDITY);
  }

  /** The same request valid for {@code value}. */
  public CertificateRequest withValidity(Duration value) {
    return new CertificateRequest(identity, dnsNames, ipAddresses, value);
  }

  /** The same request with these DNS names instead. */
  public CertificateRequest withDnsNames(List<String> value) {
    return new CertificateRequest(identity, value, ipAddresses, validity);
  }

  /** The same request with these IP addresses instead. */
  public CertificateRequest withIpAddresses(List<String> value) {
    return new CertificateRequest(identity, dnsNames, value, validity);
  }

  /** An address as the JDK prints it (how a certificate's IP names read back), so requests compare. */
  private static String literal(String address) {
    if (address == null || !address.matches("[0-9A-Fa-f:.]+")) {
      throw new IllegalArgumentException("IP address \"" + address + "\" (expected: a literal such as 127.0.0.1 or ::1)");
    }
    try {
      return InetAddress.getByName(address).getHostAddress();
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("IP address \"" + address + "\" (expected: a literal such as 127.0.0.1 or ::1)",
          e);
    }
  }
}
