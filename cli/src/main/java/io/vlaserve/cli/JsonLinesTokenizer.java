package io.vlaserve.cli;

import io.vlaserve.tokenizer.ActionTokenizer;
import io.vlaserve.tokenizer.TokenizerException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.Writer;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;
import tools.jackson.core.json.JsonReadFeature;

/**
 * Streams JSON lines through a tokenizer in constant memory: each input line is answered by exactly
 * one output line at the same position, a result or {@code {"error": "..."}}. Not thread-safe.
 *
 * <p>Python's {@code json.dumps} writes NaN and Infinity as bare words, so they are parsed and then
 * rejected with a clear error rather than failing as unreadable JSON.
 */
final class JsonLinesTokenizer {
  enum Direction { ENCODE, DECODE }

  private static final JsonFactory JSON = JsonFactory.builder()
      .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
      .build();

  private final ActionTokenizer tokenizer;
  private final Direction direction;
  private final int dims;
  private final double[] action;
  private final int[] tokens;
  private final StringBuilder line = new StringBuilder(256);

  JsonLinesTokenizer(ActionTokenizer tokenizer, Direction direction) {
    this.tokenizer = tokenizer;
    this.direction = direction;
    this.dims = tokenizer.dimensions();
    this.action = new double[dims];
    this.tokens = new int[dims];
  }

  /** Answers every line of {@code in}; returns how many lines failed. */
  long run(BufferedReader in, Writer out) throws IOException {
    long number = 0;
    long failed = 0;
    while (true) {
      if (!in.ready()) {
        out.flush(); // about to block: let an interactive or co-process reader see the answers so far
      }
      String text = in.readLine();
      if (text == null) {
        return failed;
      }
      number++;
      line.setLength(0);
      try {
        if (direction == Direction.ENCODE) {
          readArray(text, "action", number);
          tokenizer.encode(action, 0, tokens, 0, 1);
          writeTokens();
        } else {
          readArray(text, "tokens", number);
          tokenizer.decode(tokens, 0, action, 0, 1);
          writeAction();
        }
      } catch (TokenizerException e) {
        failed++;
        line.setLength(0);
        writeError("line " + number + ": " + e.getMessage());
      }
      out.append(line).append('\n');
    }
  }

  private void readArray(String text, String field, long number) {
    int count = 0;
    boolean found = false;
    try (JsonParser parser = JSON.createParser(ObjectReadContext.empty(), text)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        throw new TokenizerException("not a JSON object (expected: {\"" + field + "\": [...]})");
      }
      while (parser.nextToken() == JsonToken.PROPERTY_NAME) {
        String name = parser.currentName();
        JsonToken value = parser.nextToken();
        if (!name.equals(field)) {
          parser.skipChildren();
          continue;
        }
        if (value != JsonToken.START_ARRAY) {
          throw new TokenizerException("\"" + field + "\" is not an array (expected: [" + dims + " numbers])");
        }
        found = true;
        while (parser.nextToken() != JsonToken.END_ARRAY) {
          if (count >= dims) {
            count++;
            parser.skipChildren();
            continue;
          }
          if (direction == Direction.ENCODE) {
            if (!parser.currentToken().isNumeric()) {
              throw new TokenizerException("action[" + count + "]: " + parser.getString() + " (expected: a number)");
            }
            action[count++] = parser.getDoubleValue();
          } else {
            if (parser.currentToken() != JsonToken.VALUE_NUMBER_INT) {
              throw new TokenizerException("tokens[" + count + "]: " + parser.getString() + " (expected: an integer)");
            }
            tokens[count++] = parser.getIntValue();
          }
        }
      }
    } catch (JacksonException e) {
      throw new TokenizerException("not valid JSON (" + e.getOriginalMessage() + ")");
    }
    if (!found) {
      throw new TokenizerException("no \"" + field + "\" field (expected: {\"" + field + "\": [...]})");
    }
    if (count != dims) {
      throw new TokenizerException(count + " " + (direction == Direction.ENCODE ? "values" : "tokens")
          + " (expected: " + dims + " for profile " + tokenizer.profile().name() + ")");
    }
  }

  private void writeTokens() {
    line.append("{\"tokens\":[");
    for (int d = 0; d < dims; d++) {
      if (d > 0) {
        line.append(',');
      }
      line.append(tokens[d]);
    }
    line.append("]}");
  }

  /** Doubles use Java's shortest round-trip representation, valid JSON for finite values. */
  private void writeAction() {
    line.append("{\"action\":[");
    for (int d = 0; d < dims; d++) {
      if (d > 0) {
        line.append(',');
      }
      line.append(action[d]);
    }
    line.append("]}");
  }

  private void writeError(String message) {
    line.append("{\"error\":\"");
    for (int i = 0; i < message.length(); i++) {
      char c = message.charAt(i);
      switch (c) {
        case '"' -> line.append("\\\"");
        case '\\' -> line.append("\\\\");
        case '\n' -> line.append("\\n");
        case '\r' -> line.append("\\r");
        case '\t' -> line.append("\\t");
        default -> {
          if (c < 0x20) {
            line.append(String.format("\\u%04x", (int) c));
          } else {
            line.append(c);
          }
        }
      }
    }
    line.append("\"}");
  }
}
