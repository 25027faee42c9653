package io.vlaserve.service.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;

class AccessTableTest {
  @Test
  void httpRulesMatchByMethodAndWholePathSegments() {
    assertTrue(AccessTable.httpRule("GET", "/actuator/health").orElseThrow().open());
    assertTrue(AccessTable.httpRule("GET", "/actuator/health/readiness").orElseThrow().open());
    assertTrue(AccessTable.httpRule("HEAD", "/actuator/health/liveness").orElseThrow().open());
    assertEquals(Set.of(Role.OPERATOR, Role.SERVICE, Role.VIEWER),
        AccessTable.httpRule("GET", "/actuator/healthz").orElseThrow().roles(), "not a child of /actuator/health");
    assertEquals(Set.of(Role.OPERATOR, Role.SERVICE, Role.VIEWER),
        AccessTable.httpRule("GET", "/actuator/prometheus").orElseThrow().roles());
    assertEquals(Set.of(Role.ROBOT, Role.SERVICE), AccessTable.httpRule("POST", "/act").orElseThrow().roles());
    assertTrue(AccessTable.httpRule("POST", "/actuator/health").isEmpty(), "no rule: any authenticated caller");
    assertTrue(AccessTable.httpRule("POST", "/action").isEmpty());
    // openpi's WebSocket is the upgrade of GET /: that path alone, not a parent of every other.
    assertEquals(Set.of(Role.ROBOT, Role.SERVICE), AccessTable.httpRule("GET", "/").orElseThrow().roles());
    assertTrue(AccessTable.httpRule("GET", "/something").isEmpty(), "\"/\" covers only itself");
    assertTrue(AccessTable.httpRule("GET", "/healthz").orElseThrow().open(), "openpi's health check, as /actuator/health");
  }

  @Test
  void motionAndLimitsAreNeverARobotsOrAViewersCall() {
    for (String method : new String[] {"vla.controller.v1.ControllerBridge/Execute",
        "vla.controller.v1.ControllerBridge/Resume", "vla.controller.v1.ControllerBridge/SetSafetyLimits"}) {
      Set<Role> roles = AccessTable.GRPC.rule(method).orElseThrow().roles();
      assertTrue(!roles.contains(Role.ROBOT) && !roles.contains(Role.VIEWER), method + ": " + roles);
    }
    assertEquals(Set.of(Role.ROBOT), AccessTable.GRPC.rule("vla.controller.v1.RobotAgentLink/Connect").orElseThrow().roles());
  }
}
