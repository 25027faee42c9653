package io.vlaserve.tokenizer;

/** How continuous action values are mapped to bins. */
public enum Scheme {
  /** RT-2 style: per-dimension bounds, {@code bins} equal-width bins, decoded at the bin centre. */
  UNIFORM("uniform"),
  /** Bit-exact with openvla/openvla's {@code ActionTokenizer} plus its BOUNDS_Q99 normalisation. */
  OPENVLA("openvla");

  private final String jsonName;

  Scheme(String jsonName) {
    this.jsonName = jsonName;
  }

  /** The spelling used in profile files and on the command line. */
  public String jsonName() {
    return jsonName;
  }

  /** Parses {@code "uniform"} or {@code "openvla"}. */
  public static Scheme fromJsonName(String name) {
    for (Scheme scheme : values()) {
      if (scheme.jsonName.equals(name)) {
        return scheme;
      }
    }
    throw new InvalidProfileException("scheme: \"" + name + "\" (expected: \"uniform\" or \"openvla\")");
  }
}
