package io.vlaserve.service.audit;

import io.vlaserve.service.auth.Principal;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit trail: one structured line per security- or safety-relevant act (a session opened, a
 * halt, a resume, an e-stop reset, a safety-limit change), on the logger {@code io.vlaserve.audit}
 * so deployments can route it apart. Each line is logfmt: {@code action=halt robot=arm-1
 * who=operator/alice@/10.0.0.7:5312 result=ok reason="operator stop"}.
 *
 * <p>Values come from the network (reasons, robot ids, tasks): control characters are replaced and
 * quotes escaped, so a caller cannot forge a line of its own. Stateless and thread-safe.
 */
public final class AuditLog {
  private static final Logger log = LoggerFactory.getLogger("io.vlaserve.audit");
  /** Longest value written; the rest is cut, so one call cannot flood the log. */
  static final int MAX_VALUE = 300;

  private AuditLog() {}

  /**
   * Writes one line.
   *
   * @param action what was done ("halt", "resume", "estop-reset", "set-safety-limits", "session-open", ...)
   * @param robot the robot it concerns
   * @param who the caller (authenticated identity, or peer address until there is one)
   * @param result "ok", or the status code it failed with
   * @param details further fields, in order
   */
  public static void record(String action, String robot, String who, String result, Map<String, ?> details) {
    log.info(line(action, robot, who, result, details));
  }

  /**
   * The current gRPC call's caller for {@code who}: the authenticated identity and the peer's
   * address ("robot/arm-1@/10.0.0.7:5312"; "insecure@..." on an insecure service).
   */
  public static String caller() {
    Principal principal = Principal.current();
    return (principal == null ? "unauthenticated" : principal.toString()) + "@" + CallerAddress.current();
  }

  static String line(String action, String robot, String who, String result, Map<String, ?> details) {
    StringBuilder line = new StringBuilder(128);
    field(line, "action", action);
    field(line, "robot", robot);
    field(line, "who", who);
    field(line, "result", result);
    for (Map.Entry<String, ?> detail : details.entrySet()) {
      field(line, detail.getKey(), String.valueOf(detail.getValue()));
    }
    return line.toString();
  }

  private static void field(StringBuilder line, String key, String value) {
    if (!line.isEmpty()) {
      line.append(' ');
    }
    line.append(key).append('=');
    String text = value == null ? "" : value;
    if (text.length() > MAX_VALUE) {
      text = text.substring(0, MAX_VALUE) + "...";
    }
    boolean quote = text.isEmpty();
    StringBuilder escaped = new StringBuilder(text.length() + 2);
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isISOControl(c)) {
        escaped.append(' ');
        quote = true;
      } else if (c == '"' || c == '\\') {
        escaped.append('\\').append(c);
        quote = true;
      } else {
        quote |= c == ' ' || c == '=';
        escaped.append(c);
      }
    }
    line.append(quote ? "\"" + escaped + "\"" : escaped);
  }
}
