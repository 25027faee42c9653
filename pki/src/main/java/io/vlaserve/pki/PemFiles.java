package io.vlaserve.pki;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** PEM encoding and atomic, permission-aware file writes for the CA's files. */
final class PemFiles {
  private static final Pattern BLOCK = Pattern.compile(
      "-----BEGIN ([A-Z ]+)-----\\s*([A-Za-z0-9+/=\\s]+?)\\s*-----END \\1-----");
  private static final boolean POSIX = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");

  private PemFiles() {}

  static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  static String pem(X509Certificate certificate) {
    try {
      return pem("CERTIFICATE", certificate.getEncoded());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  static String pem(PrivateKey key) {
    return pem("PRIVATE KEY", key.getEncoded());
  }

  /** The certificates in a PEM file, in order. */
  static List<X509Certificate> certificates(Path file) {
    List<X509Certificate> certificates = new ArrayList<>();
    try {
      CertificateFactory factory = CertificateFactory.getInstance("X.509");
      for (byte[] der : blocks(file, "CERTIFICATE")) {
        certificates.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(der)));
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage() + " (expected: PEM certificates)", e);
    }
    if (certificates.isEmpty()) {
      throw new IllegalArgumentException(file + ": no certificate (expected: -----BEGIN CERTIFICATE-----)");
    }
    return certificates;
  }

  /** The one EC PKCS#8 private key in a PEM file. */
  static PrivateKey ecPrivateKey(Path file) {
    List<byte[]> keys = blocks(file, "PRIVATE KEY");
    if (keys.size() != 1) {
      throw new IllegalArgumentException(file + ": " + keys.size() + " private keys (expected: one unencrypted PKCS#8"
          + " key, -----BEGIN PRIVATE KEY-----)");
    }
    try {
      return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(keys.get(0)));
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage() + " (expected: an EC PKCS#8 key)", e);
    }
  }

  private static List<byte[]> blocks(Path file, String type) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot read (" + e.getMessage() + ")", e);
    }
    List<byte[]> blocks = new ArrayList<>();
    Matcher matcher = BLOCK.matcher(text);
    while (matcher.find()) {
      if (matcher.group(1).equals(type)) {
        blocks.add(Base64.getMimeDecoder().decode(matcher.group(2)));
      }
    }
    return blocks;
  }

  /**
   * Replaces {@code file} with {@code content} in one step (a reader sees the old or the new file,
   * never half of one): written to a temporary file beside it, then moved over it. With
   * {@code secret}, the file is readable and writable by its owner only from the moment it exists,
   * where the file system has POSIX permissions.
   */
  static void writeAtomically(Path file, String content, boolean secret) {
    try {
      Files.createDirectories(file.getParent());
      FileAttribute<?>[] attributes = secret && POSIX
          ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(Set.of(PosixFilePermission.OWNER_READ,
              PosixFilePermission.OWNER_WRITE))}
          : new FileAttribute<?>[0];
      Path temp = Files.createTempFile(file.getParent(), "." + file.getFileName(), ".tmp", attributes);
      try {
        Files.writeString(temp, content, StandardCharsets.US_ASCII);
        if (!secret && POSIX) {
          // createTempFile makes files owner-only; certificates are public.
          Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rw-r--r--"));
        }
        Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } finally {
        Files.deleteIfExists(temp);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot write (" + e.getMessage() + ")", e);
    }
  }
}
