package io.vlaserve.tokenizer;

/**
 * An inclusive range of token ids: the logit slice a policy must mask to for one action dimension.
 *
 * @param first the lowest allowed id
 * @param last the highest allowed id, {@code >= first}
 */
public record TokenRange(int first, int last) {

  public TokenRange {
    if (last < first) {
      throw new IllegalArgumentException("last: " + last + " (expected: >= first " + first + ")");
    }
  }

  public boolean contains(int token) {
    return token >= first && token <= last;
  }

  public int size() {
    return last - first + 1;
  }

  @Override
  public String toString() {
    return "[" + first + ", " + last + "]";
  }
}
