package io.vlaserve.planner.resume;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The secrets resume tokens are signed with, by key id: one signs new tokens, every one verifies.
 * Rotating a key keeps the old one as a verifying key for an overlap window (at least a token's
 * lifetime), so tokens signed before the switch still resume; removing it ends the window.
 *
 * <p>On disk ({@link #fromDirectory}), as a Kubernetes Secret mounted as a directory:
 *
 * <pre>
 * /etc/vla/resume-keys/
 *   signing-key-id     "2025-02" : the id of the key that signs new tokens
 *   2025-01            base64 of >= 32 random bytes (openssl rand -base64 32): verifies only
 *   2025-02            base64 of >= 32 random bytes: signs and verifies
 * </pre>
 *
 * Every file but {@value #SIGNING_KEY_FILE} is a key, its name the key id ({@code
 * [A-Za-z0-9][A-Za-z0-9._-]*}, at most 64 characters); names starting with a dot (the Secret
 * volume's {@code ..data} links) are skipped. Rotation: add the new key everywhere, then point
 * {@value #SIGNING_KEY_FILE} at it once every replica holds it, then remove the old key after the
 * token lifetime.
 *
 * <p>Immutable and thread-safe; {@link #toString} names key ids, never secrets.
 */
public final class KeyRing {
  /** The file naming the signing key. */
  public static final String SIGNING_KEY_FILE = "signing-key-id";
  /** HMAC-SHA256 wants a key as long as its output. */
  public static final int MIN_KEY_BYTES = 32;

  private static final Pattern KEY_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  private static final String HOW_TO_MAKE_A_KEY = "the base64 of >= " + MIN_KEY_BYTES
      + " random bytes, e.g. from `openssl rand -base64 32`";

  private final String signingKeyId;
  private final Map<String, byte[]> secrets;

  /**
   * @param signingKeyId the key new tokens are signed with; one of {@code secrets}
   * @param secrets every key that verifies, by id, each at least {@value #MIN_KEY_BYTES} bytes
   */
  public KeyRing(String signingKeyId, Map<String, byte[]> secrets) {
    Objects.requireNonNull(signingKeyId, "signingKeyId");
    TreeMap<String, byte[]> copy = new TreeMap<>();
    secrets.forEach((id, secret) -> {
      if (!isKeyId(id)) {
        throw new IllegalArgumentException("key id '" + id + "' (expected " + KEY_ID.pattern() + ")");
      }
      if (secret.length < MIN_KEY_BYTES) {
        throw new IllegalArgumentException("key '" + id + "': " + secret.length + " bytes (expected >= "
            + MIN_KEY_BYTES + ")");
      }
      copy.put(id, secret.clone());
    });
    if (!copy.containsKey(signingKeyId)) {
      throw new IllegalArgumentException("signing key '" + signingKeyId + "' is not among the keys "
          + copy.keySet() + " (expected the signing key to verify too)");
    }
    this.signingKeyId = signingKeyId;
    this.secrets = copy;
  }

  /**
   * Reads a key ring laid out as the class describes.
   *
   * @throws IllegalArgumentException if the layout or a key is wrong; the message names the file
   *     and says what was expected
   * @throws IOException if the directory or a file cannot be read
   */
  public static KeyRing fromDirectory(Path directory) throws IOException {
    Path signingFile = directory.resolve(SIGNING_KEY_FILE);
    if (!Files.isRegularFile(signingFile)) {
      throw new IllegalArgumentException("no file " + SIGNING_KEY_FILE + " in " + directory
          + " (expected one holding the id of the key that signs new tokens, e.g. 2025-02)");
    }
    String signingKeyId = Files.readString(signingFile, StandardCharsets.UTF_8).strip();
    Map<String, byte[]> secrets = new TreeMap<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(directory)) {
      for (Path file : files) {
        String name = file.getFileName().toString();
        if (name.startsWith(".") || name.equals(SIGNING_KEY_FILE) || !Files.isRegularFile(file)) {
          continue;
        }
        if (!isKeyId(name)) {
          throw new IllegalArgumentException("key file '" + name + "' in " + directory + ": not a key id (expected "
              + KEY_ID.pattern() + ")");
        }
        secrets.put(name, readSecret(file, directory));
      }
    }
    if (secrets.isEmpty()) {
      throw new IllegalArgumentException("no key file in " + directory + " (expected at least the signing key '"
          + signingKeyId + "', holding " + HOW_TO_MAKE_A_KEY + ")");
    }
    if (!secrets.containsKey(signingKeyId)) {
      throw new IllegalArgumentException(SIGNING_KEY_FILE + " in " + directory + " names key '" + signingKeyId
          + "', but there is no such key file (keys: " + String.join(", ", secrets.keySet()) + ")");
    }
    return new KeyRing(signingKeyId, secrets);
  }

  private static byte[] readSecret(Path file, Path directory) throws IOException {
    String text = Files.readString(file, StandardCharsets.US_ASCII).replaceAll("\\s", "");
    byte[] secret;
    try {
      // Standard or URL-safe alphabet, padded or not: whatever the operator's tool wrote.
      secret = Base64.getDecoder().decode(text.replace('-', '+').replace('_', '/'));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("key file '" + file.getFileName() + "' in " + directory
          + ": not base64 (expected " + HOW_TO_MAKE_A_KEY + ")");
    }
    if (secret.length < MIN_KEY_BYTES) {
      throw new IllegalArgumentException("key file '" + file.getFileName() + "' in " + directory + ": "
          + secret.length + " bytes (expected " + HOW_TO_MAKE_A_KEY + ")");
    }
    return secret;
  }

  /** Whether {@code id} can name a key (and a file in a Secret). */
  public static boolean isKeyId(String id) {
    return id != null && KEY_ID.matcher(id).matches();
  }

  public String signingKeyId() {
    return signingKeyId;
  }

  /** Every key that verifies, the signing key among them. */
  public Set<String> keyIds() {
    return secrets.keySet();
  }

  /** The secret of {@code keyId}, or null if this ring does not hold it. Not a copy: callers only read it. */
  byte[] secret(String keyId) {
    return secrets.get(keyId);
  }

  @Override
  public String toString() {
    return "KeyRing[signing=" + signingKeyId + ", keys=" + secrets.keySet() + "]";
  }
}
