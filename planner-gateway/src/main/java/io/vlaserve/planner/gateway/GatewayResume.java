package io.vlaserve.planner.gateway;

import io.vlaserve.planner.resume.KeyRing;
import io.vlaserve.planner.resume.ResumeLedger;
import io.vlaserve.planner.resume.ResumeTokens;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's resume tokens and its ledger of resumed sessions. The keys come from {@code
 * vla.gateway.resume.keys}, re-read when the directory's files change (a rotated Secret); without
 * that directory, from a random key made at start, good only on this process.
 *
 * <p>Thread-safe: {@link #tokens} is swapped whole when the keys change.
 */
final class GatewayResume {
  private static final Logger log = LoggerFactory.getLogger(GatewayResume.class);
  private static final String EPHEMERAL_KEY_ID = "ephemeral";

  private final GatewayProperties.Resume settings;
  private final Clock clock;
  private final ResumeLedger ledger;
  private volatile ResumeTokens tokens;
  /** A digest of the key directory's files as last read; null without a directory. */
  private byte[] keysDigest;

  /**
   * @param clock wall clock for expiry and the ledger; the replicas' clocks must agree within the allowed skew
   * @throws IllegalArgumentException if the key directory is set but does not hold a valid key ring
   */
  GatewayResume(GatewayProperties.Resume settings, Clock clock) {
    this.settings = settings;
    this.clock = clock;
    this.ledger = new ResumeLedger(settings.ledgerCapacity(), clock);
    if (settings.keys() == null) {
      byte[] secret = new byte[KeyRing.MIN_KEY_BYTES];
      new SecureRandom().nextBytes(secret);
      tokens = tokens(new KeyRing(EPHEMERAL_KEY_ID, Map.of(EPHEMERAL_KEY_ID, secret)));
      log.warn("vla.gateway.resume.keys is not set: resume tokens are signed with a random key made at start, so a"
          + " robot can resume its session only on this replica and not after it restarts; set"
          + " vla.gateway.resume.keys to a directory of keys shared by every replica (a Secret volume)");
    } else {
      try {
        keysDigest = digest(settings.keys());
        KeyRing ring = KeyRing.fromDirectory(settings.keys());
        tokens = tokens(ring);
        log.info("resume tokens: keys {} from {}", ring, settings.keys());
      } catch (IOException e) {
        throw new UncheckedIOException("vla.gateway.resume.keys: cannot read " + settings.keys(), e);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("vla.gateway.resume.keys: " + e.getMessage(), e);
      }
    }
  }

  /** Signs and verifies tokens with the keys as last read. */
  ResumeTokens tokens() {
    return tokens;
  }

  ResumeLedger ledger() {
    return ledger;
  }

  /** Checks the key directory every {@code keysCheckPeriod} on {@code timer}; nothing without a directory. */
  void watchKeys(ScheduledExecutorService timer) {
    if (settings.keys() != null) {
      long period = settings.keysCheckPeriod().toMillis();
      timer.scheduleWithFixedDelay(this::reloadIfChanged, period, period, TimeUnit.MILLISECONDS);
    }
  }

  /**
   * Re-reads the keys if the directory's files changed; a directory that no longer reads as a key
   * ring leaves the keys as they were (and says why).
   *
   * @return whether new keys are in use
   */
  synchronized boolean reloadIfChanged() {
    Path directory = settings.keys();
    if (directory == null) {
      return false;
    }
    try {
      byte[] now = digest(directory);
      if (Arrays.equals(now, keysDigest)) {
        return false;
      }
      KeyRing ring = KeyRing.fromDirectory(directory);
      tokens = tokens(ring);
      keysDigest = now;
      log.info("resume tokens: keys changed in {}, now {}", directory, ring);
      return true;
    } catch (IOException | IllegalArgumentException e) {
      log.warn("resume tokens: {} changed but cannot be read as keys ({}); keeping the keys in use", directory,
          e.getMessage());
      return false;
    }
  }

  private ResumeTokens tokens(KeyRing ring) {
    return new ResumeTokens(ring, clock, settings.tokenLifetime(), settings.allowedSkew());
  }

  /** A digest of every visible regular file's name and content (a Secret volume swaps its files through links). */
  private static byte[] digest(Path directory) throws IOException {
    TreeMap<String, byte[]> files = new TreeMap<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory)) {
      for (Path file : entries) {
        String name = file.getFileName().toString();
        if (!name.startsWith(".") && Files.isRegularFile(file)) {
          files.put(name, Files.readAllBytes(file));
        }
      }
    }
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      files.forEach((name, content) -> {
        sha.update(name.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        sha.update((byte) 0);
        sha.update(content);
        sha.update((byte) 0);
      });
      return sha.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is not available", e);
    }
  }
}
