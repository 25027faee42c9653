package io.vlaserve.tokenizer;

import java.util.Collection;

/** A profile name or statistics key that does not exist; the message lists the known ones. */
public class UnknownProfileException extends TokenizerException {
  public UnknownProfileException(String what, String name, Collection<String> known) {
    super(what + " \"" + name + "\" not found (known: " + String.join(", ", known) + ")");
  }

  public UnknownProfileException(String message) {
    super(message);
  }
}
