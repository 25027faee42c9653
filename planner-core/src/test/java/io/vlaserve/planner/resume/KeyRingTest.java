package io.vlaserve.planner.resume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Key rings built and read from a directory laid out as a Kubernetes Secret volume. */
class KeyRingTest {
  private static final byte[] KEY_1 = filled(1, 32);
  private static final byte[] KEY_2 = filled(2, 48);

  @TempDir Path directory;

  private static byte[] filled(int value, int length) {
    byte[] bytes = new byte[length];
    java.util.Arrays.fill(bytes, (byte) value);
    return bytes;
  }

  private void write(String name, String content) throws IOException {
    Files.writeString(directory.resolve(name), content);
  }

  @Test
  void aSecretVolumeGivesItsKeysAndSigningKeySkippingTheVolumesOwnEntries() throws IOException {
    write(KeyRing.SIGNING_KEY_FILE, "2025-02\n");
    write("2025-01", Base64.getEncoder().encodeToString(KEY_1) + "\n");
    write("2025-02", Base64.getUrlEncoder().withoutPadding().encodeToString(KEY_2));
    Files.createDirectory(directory.resolve("..2025_03_01_12_00_00.123"));
    write("..data", "not a key");

    KeyRing keys = KeyRing.fromDirectory(directory);

    assertEquals("2025-02", keys.signingKeyId());
    assertEquals(Set.of("2025-01", "2025-02"), keys.keyIds());
    assertArrayEquals(KEY_1, keys.secret("2025-01"));
    assertArrayEquals(KEY_2, keys.secret("2025-02"));
    assertEquals("KeyRing[signing=2025-02, keys=[2025-01, 2025-02]]", keys.toString());
  }

  @Test
  void aShortKeyIsRefusedWithHowToMakeOne() throws IOException {
    write(KeyRing.SIGNING_KEY_FILE, "k1");
    write("k1", Base64.getEncoder().encodeToString(filled(1, 16)));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KeyRing.fromDirectory(directory));
    assertEquals("key file 'k1' in " + directory + ": 16 bytes (expected the base64 of >= 32 random bytes, e.g. from"
        + " `openssl rand -base64 32`)", e.getMessage());
  }

  @Test
  void aKeyThatIsNotBase64IsRefusedWithoutShowingIt() throws IOException {
    write(KeyRing.SIGNING_KEY_FILE, "k1");
    write("k1", "my secret password!");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KeyRing.fromDirectory(directory));
    assertEquals("key file 'k1' in " + directory + ": not base64 (expected the base64 of >= 32 random bytes, e.g."
        + " from `openssl rand -base64 32`)", e.getMessage());
    assertFalse(e.getMessage().contains("password"));
  }

  @Test
  void theSigningKeyFileMustExistAndNameAKeyThatIsThere() throws IOException {
    write("k1", Base64.getEncoder().encodeToString(KEY_1));
    assertEquals("no file signing-key-id in " + directory + " (expected one holding the id of the key that signs new"
        + " tokens, e.g. 2025-02)",
        assertThrows(IllegalArgumentException.class, () -> KeyRing.fromDirectory(directory)).getMessage());

    write(KeyRing.SIGNING_KEY_FILE, "k2");
    assertEquals("signing-key-id in " + directory + " names key 'k2', but there is no such key file (keys: k1)",
        assertThrows(IllegalArgumentException.class, () -> KeyRing.fromDirectory(directory)).getMessage());
  }

  @Test
  void aDirectoryWithoutKeysIsRefused() throws IOException {
    write(KeyRing.SIGNING_KEY_FILE, "k1");
    assertEquals("no key file in " + directory + " (expected at least the signing key 'k1', holding the base64 of >= 32"
        + " random bytes, e.g. from `openssl rand -base64 32`)",
        assertThrows(IllegalArgumentException.class, () -> KeyRing.fromDirectory(directory)).getMessage());
  }

  @Test
  void aRingBuiltInCodeChecksItsKeysToo() {
    assertEquals("key 'k1': 31 bytes (expected >= 32)", assertThrows(IllegalArgumentException.class,
        () -> new KeyRing("k1", Map.of("k1", filled(1, 31)))).getMessage());
    assertEquals("key id 'a/b' (expected [A-Za-z0-9][A-Za-z0-9._-]{0,63})", assertThrows(IllegalArgumentException.class,
        () -> new KeyRing("a/b", Map.of("a/b", KEY_1))).getMessage());
    assertEquals("signing key 'k2' is not among the keys [k1] (expected the signing key to verify too)",
        assertThrows(IllegalArgumentException.class, () -> new KeyRing("k2", Map.of("k1", KEY_1))).getMessage());
  }

  @Test
  void theRingKeepsItsOwnCopyOfEachSecret() {
    byte[] secret = KEY_1.clone();
    KeyRing keys = new KeyRing("k1", Map.of("k1", secret));
    secret[0] = 9;
    assertArrayEquals(KEY_1, keys.secret("k1"));
  }
}
