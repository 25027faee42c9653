package io.vlaserve.deploy;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * cert-manager's {@code Certificate} and {@code Issuer} (cert-manager.io/v1), which are not fabric8
 * types: they are kept as {@link GenericKubernetesResource}s, and this checks their {@code spec}
 * against the fields of cert-manager's API so a misspelt field fails as it does for built-in
 * types. Only the fields the manifests may use are known, listed from cert-manager's v1 API
 * reference. Stateless.
 */
final class CertManager {
  static final String API_VERSION = "cert-manager.io/v1";
  static final Set<String> KINDS = Set.of("Certificate", "Issuer");

  private static final Set<String> CERTIFICATE_SPEC = Set.of("subject", "literalSubject", "commonName", "duration",
      "renewBefore", "renewBeforePercentage", "dnsNames", "ipAddresses", "uris", "otherNames", "emailAddresses",
      "secretName", "secretTemplate", "keystores", "issuerRef", "isCA", "usages", "privateKey",
      "encodeUsagesInRequest", "revisionHistoryLimit", "additionalOutputFormats", "nameConstraints");
  private static final Set<String> PRIVATE_KEY = Set.of("rotationPolicy", "encoding", "algorithm", "size");
  private static final Set<String> ISSUER_REF = Set.of("name", "kind", "group");
  private static final Set<String> SUBJECT = Set.of("organizations", "countries", "organizationalUnits", "localities",
      "provinces", "streetAddresses", "postalCodes", "serialNumber");
  private static final Set<String> ISSUER_SPEC = Set.of("selfSigned", "ca", "acme", "vault", "venafi");
  private static final Set<String> CA_ISSUER = Set.of("secretName", "crlDistributionPoints", "ocspServers",
      "issuingCertificateURLs");
  private static final Set<String> SELF_SIGNED = Set.of("crlDistributionPoints");
  /** The usages cert-manager accepts (KeyUsage), as written in a Certificate. */
  static final Set<String> USAGES = Set.of("signing", "digital signature", "content commitment", "key encipherment",
      "key agreement", "data encipherment", "cert sign", "crl sign", "encipher only", "decipher only", "any",
      "server auth", "client auth", "code signing", "email protection", "s/mime", "ipsec end system",
      "ipsec tunnel", "ipsec user", "timestamping", "ocsp signing", "microsoft sgc", "netscape sgc");

  private CertManager() {}

  static boolean handles(Map<String, Object> document) {
    return API_VERSION.equals(document.get("apiVersion")) && KINDS.contains(String.valueOf(document.get("kind")));
  }

  /** Paths of every field in {@code document} that cert-manager's API does not have. */
  static List<String> unknownFields(Map<String, Object> document) {
    List<String> unknown = new ArrayList<>();
    for (String key : document.keySet()) {
      if (!Set.of("apiVersion", "kind", "metadata", "spec", "status").contains(key)) {
        unknown.add(key);
      }
    }
    Map<String, Object> spec = map(document.get("spec"));
    if ("Certificate".equals(document.get("kind"))) {
      check(spec, CERTIFICATE_SPEC, "spec", unknown);
      check(map(spec.get("privateKey")), PRIVATE_KEY, "spec.privateKey", unknown);
      check(map(spec.get("issuerRef")), ISSUER_REF, "spec.issuerRef", unknown);
      check(map(spec.get("subject")), SUBJECT, "spec.subject", unknown);
      Object usages = spec.get("usages");
      if (usages instanceof List<?> list) {
        list.stream().filter(u -> !USAGES.contains(String.valueOf(u))).forEach(u -> unknown.add("spec.usages: " + u));
      }
    } else {
      check(spec, ISSUER_SPEC, "spec", unknown);
      check(map(spec.get("ca")), CA_ISSUER, "spec.ca", unknown);
      check(map(spec.get("selfSigned")), SELF_SIGNED, "spec.selfSigned", unknown);
    }
    return unknown;
  }

  static List<GenericKubernetesResource> ofKind(List<GenericKubernetesResource> resources, String kind) {
    return resources.stream().filter(r -> API_VERSION.equals(r.getApiVersion()) && kind.equals(r.getKind())).toList();
  }

  static Map<String, Object> spec(GenericKubernetesResource resource) {
    return map(resource.getAdditionalProperties().get("spec"));
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> map(Object value) {
    return value instanceof Map<?, ?> map ? (Map<String, Object>) map : Map.of();
  }

  @SuppressWarnings("unchecked")
  static List<String> strings(Object value) {
    return value instanceof List<?> list ? (List<String>) list : List.of();
  }

  private static final Pattern GO_DURATION = Pattern.compile("(\\d+)(h|m|s)");

  /** A Go duration as cert-manager takes it ({@code 720h}, {@code 1h30m}). */
  static Duration duration(String text) {
    Matcher matcher = GO_DURATION.matcher(text);
    Duration total = Duration.ZERO;
    int end = 0;
    while (matcher.find() && matcher.start() == end) {
      long amount = Long.parseLong(matcher.group(1));
      total = total.plus(switch (matcher.group(2)) {
        case "h" -> Duration.ofHours(amount);
        case "m" -> Duration.ofMinutes(amount);
        default -> Duration.ofSeconds(amount);
      });
      end = matcher.end();
    }
    if (end == 0 || end != text.length()) {
      throw new IllegalArgumentException("duration \"" + text + "\" (expected: a Go duration such as 720h or 1h30m)");
    }
    return total;
  }

  private static void check(Map<String, Object> object, Set<String> known, String path, List<String> unknown) {
    object.keySet().stream().filter(k -> !known.contains(k)).forEach(k -> unknown.add(path + "." + k));
  }
}
