package io.vlaserve.planner.session;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Reads UTF-8 from untrusted bytes (snapshots and resume tokens) refusing malformed sequences,
 * where {@code new String(bytes, UTF_8)} would silently replace them.
 */
public final class StrictUtf8 {
  private StrictUtf8() {}

  /**
   * Decodes the next {@code length} bytes of {@code in} (the caller has checked that they are
   * there) and moves past them; empty if they are not well-formed UTF-8.
   */
  public static Optional<String> read(ByteBuffer in, int length) {
    ByteBuffer utf8 = in.slice(in.position(), length);
    in.position(in.position() + length);
    try {
      return Optional.of(StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(utf8)
          .toString());
    } catch (CharacterCodingException e) {
      return Optional.empty();
    }
  }
}
