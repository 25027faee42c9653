package io.vlaserve.service.auth;

import static io.vlaserve.service.auth.Role.OPERATOR;
import static io.vlaserve.service.auth.Role.ROBOT;
import static io.vlaserve.service.auth.Role.SERVICE;
import static io.vlaserve.service.auth.Role.VIEWER;

import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Who may call what, for every RPC and HTTP endpoint of every vla-serve service: the one place
 * authorization is decided (docs/security.md prints this table; a test per service walks it over
 * real sockets). A method missing here is refused to everyone, and a service refuses to start
 * serving one ({@link AuthorizationInterceptor#checkCovers}).
 *
 * <p>A {@link Role#ROBOT} is further held to its own robot: every {@code robot_id} in what it sends
 * must be its own ({@link RobotIdCheck}), so a robot reaches its own session, agent link, policy
 * requests and halt, and nothing of another robot. Immutable.
 */
public final class AccessTable {
  /** A rule: open to anyone (even unauthenticated), or to these roles. */
  public record Rule(boolean open, Set<Role> roles) {
    static Rule of(Role... roles) {
      return new Rule(false, Collections.unmodifiableSet(EnumSet.copyOf(Set.of(roles))));
    }

    /** "robot, service", or "anyone". */
    public String describe() {
      return open ? "anyone" : roles.stream().map(Role::wireName).collect(Collectors.joining(", "));
    }
  }

  private static final Rule OPEN = new Rule(true, Set.of());

  /** Every gRPC method of the suite, by full method name. */
  public static final AccessTable GRPC;
  /** The HTTP endpoints, by path prefix (longest first); "POST /act" style keys. */
  static final Map<String, Rule> HTTP;

  static {
    Map<String, Rule> grpc = new LinkedHashMap<>();
    // Health is what load balancers and probes ask, before they could hold an identity; it tells
    // nothing but SERVING or not.
    grpc.put("grpc.health.v1.Health/Check", OPEN);
    grpc.put("grpc.health.v1.Health/Watch", OPEN);
    grpc.put("grpc.health.v1.Health/List", OPEN);
    // Reflection describes the API: for people and tools, not robots.
    grpc.put("grpc.reflection.v1.ServerReflection/ServerReflectionInfo", Rule.of(OPERATOR, SERVICE, VIEWER));
    grpc.put("grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", Rule.of(OPERATOR, SERVICE, VIEWER));

    grpc.put("vla.planner.v1.PlannerGateway/RobotSession", Rule.of(ROBOT, SERVICE));
    grpc.put("vla.planner.v1.PlannerGateway/PlanTask", Rule.of(ROBOT, OPERATOR, SERVICE));

    grpc.put("vla.policy.v1.PolicyService/GetMetadata", Rule.of(ROBOT, OPERATOR, SERVICE, VIEWER));
    grpc.put("vla.policy.v1.PolicyService/Infer", Rule.of(ROBOT, SERVICE));
    grpc.put("vla.policy.v1.PolicyService/Session", Rule.of(ROBOT, SERVICE));

    grpc.put("vla.tokenizer.v1.TokenizerService/ListProfiles", Rule.of(OPERATOR, SERVICE, VIEWER));
    grpc.put("vla.tokenizer.v1.TokenizerService/DescribeProfile", Rule.of(OPERATOR, SERVICE, VIEWER));
    grpc.put("vla.tokenizer.v1.TokenizerService/Encode", Rule.of(OPERATOR, SERVICE));
    grpc.put("vla.tokenizer.v1.TokenizerService/Decode", Rule.of(OPERATOR, SERVICE));
    grpc.put("vla.tokenizer.v1.TokenizerService/Tokenize", Rule.of(OPERATOR, SERVICE));

    // Motion only from the gateway; a robot may stop itself; resuming and limits are people's calls
    // (the gateway resumes a robot that asked through its own session).
    grpc.put("vla.controller.v1.ControllerBridge/Execute", Rule.of(SERVICE));
    grpc.put("vla.controller.v1.ControllerBridge/Halt", Rule.of(ROBOT, OPERATOR, SERVICE));
    grpc.put("vla.controller.v1.ControllerBridge/Resume", Rule.of(OPERATOR, SERVICE));
    grpc.put("vla.controller.v1.ControllerBridge/StreamState", Rule.of(OPERATOR, SERVICE, VIEWER));
    grpc.put("vla.controller.v1.ControllerBridge/GetSafetyLimits", Rule.of(OPERATOR, SERVICE, VIEWER));
    grpc.put("vla.controller.v1.ControllerBridge/SetSafetyLimits", Rule.of(OPERATOR));
    grpc.put("vla.controller.v1.RobotAgentLink/Connect", Rule.of(ROBOT));
    GRPC = new AccessTable(grpc);

    Map<String, Rule> http = new LinkedHashMap<>();
    http.put("GET /actuator/health", OPEN);
    http.put("POST /act", Rule.of(ROBOT, SERVICE));
    // openpi's WebSocket policy protocol: the upgrade of GET / (this path alone, not every path under it).
    http.put("GET /", Rule.of(ROBOT, SERVICE));
    http.put("GET /healthz", OPEN);
    http.put("GET /actuator/", Rule.of(OPERATOR, SERVICE, VIEWER));
    HTTP = Collections.unmodifiableMap(http);
  }

  private final Map<String, Rule> rules;

  private AccessTable(Map<String, Rule> rules) {
    this.rules = Collections.unmodifiableMap(rules);
  }

  /** The rule of a gRPC method ("vla.controller.v1.ControllerBridge/Halt"), if it has one. */
  public Optional<Rule> rule(String fullMethodName) {
    return Optional.ofNullable(rules.get(fullMethodName));
  }

  /** Every gRPC rule, in the order of docs/security.md. */
  public Map<String, Rule> rules() {
    return rules;
  }

  /**
   * The rule of an HTTP request: the entry whose method matches and whose path is the request's or
   * a parent of it ("GET /actuator/health" covers /actuator/health/readiness), except that "/" covers
   * only itself. HEAD is read as GET.
   */
  public static Optional<Rule> httpRule(String method, String path) {
    String verb = method.equals("HEAD") ? "GET" : method;
    Rule best = null;
    int bestLength = -1;
    for (Map.Entry<String, Rule> entry : HTTP.entrySet()) {
      String key = entry.getKey();
      int space = key.indexOf(' ');
      String prefix = key.substring(space + 1);
      boolean covers = path.equals(prefix) || (!prefix.equals("/") && path.startsWith(prefix)
          && (prefix.endsWith("/") || path.charAt(prefix.length()) == '/'));
      if (key.substring(0, space).equals(verb) && covers && prefix.length() > bestLength) {
        best = entry.getValue();
        bestLength = prefix.length();
      }
    }
    return Optional.ofNullable(best);
  }

  /** Every HTTP rule ("POST /act" -> rule), for docs and tests. */
  public static Map<String, Rule> httpRules() {
    return HTTP;
  }
}
