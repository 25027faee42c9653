package io.vlaserve.pki;

import java.nio.file.Path;
import java.security.cert.X509Certificate;

/**
 * A leaf certificate on disk, in cert-manager's layout: {@code <dir>/tls.crt} (the leaf, then the
 * CA), {@code <dir>/tls.key} (PKCS#8) and {@code <dir>/ca.crt}.
 *
 * @param identity whom it names
 * @param directory where its three files are
 * @param certificate the leaf
 * @param reused whether an existing, still-fitting certificate was kept instead of issuing one
 */
public record IssuedCertificate(Identity identity, Path directory, X509Certificate certificate, boolean reused) {
  /** {@code tls.crt}: the leaf, then the CA certificate. */
  public Path certificateFile() {
    return directory.resolve("tls.crt");
  }

  /** {@code tls.key}: the leaf's private key, unencrypted PKCS#8 PEM, readable by the owner only. */
  public Path privateKeyFile() {
    return directory.resolve("tls.key");
  }

  /** {@code ca.crt}: the CA certificate to trust. */
  public Path caFile() {
    return directory.resolve("ca.crt");
  }
}
