package io.vlaserve.deploy;

import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirement;
import java.util.Map;

/** Kubernetes label-selector semantics (matchLabels and matchExpressions, all ANDed). */
final class LabelSelectors {
  private LabelSelectors() {}

  /** Whether {@code labels} satisfy {@code selector}; an empty selector matches everything. */
  static boolean matches(LabelSelector selector, Map<String, String> labels) {
    if (selector.getMatchLabels() != null) {
      for (Map.Entry<String, String> required : selector.getMatchLabels().entrySet()) {
        if (!required.getValue().equals(labels.get(required.getKey()))) {
          return false;
        }
      }
    }
    if (selector.getMatchExpressions() != null) {
      for (LabelSelectorRequirement expression : selector.getMatchExpressions()) {
        String value = labels.get(expression.getKey());
        boolean ok = switch (expression.getOperator()) {
          case "In" -> value != null && expression.getValues().contains(value);
          case "NotIn" -> value == null || !expression.getValues().contains(value);
          case "Exists" -> value != null;
          case "DoesNotExist" -> value == null;
          default -> throw new IllegalArgumentException("selector operator " + expression.getOperator()
              + " (expected: In, NotIn, Exists, DoesNotExist)");
        };
        if (!ok) {
          return false;
        }
      }
    }
    return true;
  }

  /** Whether a {@code Map} selector (Services, matchLabels) is non-empty and satisfied by {@code labels}. */
  static boolean matches(Map<String, String> selector, Map<String, String> labels) {
    return selector != null && !selector.isEmpty()
        && selector.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
  }
}
