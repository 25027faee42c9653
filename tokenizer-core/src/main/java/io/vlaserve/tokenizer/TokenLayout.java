package io.vlaserve.tokenizer;

/** Where each dimension's bins sit in the vocabulary. */
public enum TokenLayout {
  /** Every dimension uses the same ids: {@code token = vocab_base + bin} (RT-2, OpenVLA). */
  SHARED("shared"),
  /** Each dimension owns a slice: {@code token = vocab_base + d * bins + bin}. */
  PER_DIMENSION("per_dimension");

  private final String jsonName;

  TokenLayout(String jsonName) {
    this.jsonName = jsonName;
  }

  public String jsonName() {
    return jsonName;
  }

  public static TokenLayout fromJsonName(String name) {
    for (TokenLayout layout : values()) {
      if (layout.jsonName.equals(name)) {
        return layout;
      }
    }
    throw new InvalidProfileException(
        "token_layout: \"" + name + "\" (expected: \"shared\" or \"per_dimension\")");
  }
}
