package io.vlaserve.planner;

import static io.vlaserve.planner.ScriptedChatServer.completion;
import static io.vlaserve.planner.ScriptedChatServer.error;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.planner.ScriptedChatServer.Received;
import io.vlaserve.planner.ScriptedChatServer.Stall;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

class OpenAiChatPlannerTest {
  static final List<String> SKILLS = EmbeddedPlannerTest.SKILLS;
  static final String TASK = "put the red block on the plate";
  static final String SCENE = "blocks: red, green; a plate";
  static final String KEY = "sk-test-secret";
  static final String PLAN = """
      {"subgoals":[{"instruction":"move to the red block"},{"instruction":"grasp the red block","max_steps":25},\
      {"instruction":"lift the block"},{"instruction":"move above the plate"},{"instruction":"Release the block."}],\
      "rationale":"pick the red block and place it"}""";
  static final String HALLUCINATED = """
      {"subgoals":[{"instruction":"move to the red block"},{"instruction":"grasp the purple block"}],\
      "rationale":"grab it"}""";
  static final Instant NOW = Instant.parse("2026-11-21T08:00:00Z");

  private ScriptedChatServer server;
  private final List<Duration> sleeps = new CopyOnWriteArrayList<>();

  @BeforeEach
  void startServer() throws IOException {
    server = new ScriptedChatServer();
  }

  @AfterEach
  void stopServer() {
    server.close();
  }

  /** Generous request timeout (a cold JVM on a busy machine), short backoffs that are recorded, not slept. */
  private OpenAiPlannerConfig config() {
    return OpenAiPlannerConfig.of(server.baseUrl(), "test-model")
        .withApiKey(KEY)
        .withTimeouts(Duration.ofSeconds(10), Duration.ofSeconds(2))
        .withRetries(3, Duration.ofMillis(100), Duration.ofSeconds(1))
        .withMaxCorrections(2);
  }

  private OpenAiChatPlanner planner(OpenAiPlannerConfig config) {
    return new OpenAiChatPlanner(config, sleeps::add, new Random(7), InstantSource.fixed(NOW));
  }

  private PlannedTask plan(OpenAiPlannerConfig config) throws PlanningException {
    try (OpenAiChatPlanner planner = planner(config)) {
      return planner.plan(PlanningRequest.initial(TASK, SCENE, SKILLS));
    }
  }

  private PlanningException planFails(OpenAiPlannerConfig config) {
    return assertThrows(PlanningException.class, () -> plan(config));
  }

  private static List<String> instructions(PlannedTask task) {
    return task.subgoals().stream().map(PlannedSubgoal::instruction).toList();
  }

  private static void assertContains(String text, String expected) {
    assertTrue(text.contains(expected), () -> "expected to contain '" + expected + "':\n" + text);
  }

  @Nested
  class Prompting {
    @Test
    void sendsModelSkillsJsonModeAndKeyAndReturnsTheValidatedPlan() throws PlanningException {
      server.then(completion(PLAN));

      PlannedTask task = plan(config());

      assertEquals(List.of("move to the red block", "grasp the red block", "lift the block", "move above the plate",
          "release the block"), instructions(task), "the policy's spelling, not the model's");
      assertEquals(25, task.subgoals().get(1).maxSteps(), "the model's budget");
      assertEquals(20, task.subgoals().get(2).maxSteps(), "the skill's default budget");
      assertEquals("openai:test-model", task.planner());
      assertEquals("pick the red block and place it", task.rationale());

      Received request = server.received().get(0);
      assertEquals("POST", request.method());
      assertEquals("/v1/chat/completions", request.path());
      assertEquals("Bearer " + KEY, request.header("Authorization"));
      JsonNode body = request.body();
      assertEquals("test-model", body.path("model").stringValue());
      assertEquals(0.0, body.path("temperature").doubleValue());
      assertEquals("json_object", body.path("response_format").path("type").stringValue());
      assertFalse(body.has("max_tokens"), "the server's default unless configured");
      assertEquals(2, request.messages().size());
      assertEquals("system", request.messages().get(0).path("role").stringValue());
      for (String skill : SKILLS) {
        assertContains(request.content(0), "- " + skill + "\n");
      }
      assertContains(request.content(0), "\"subgoals\"");
      assertEquals("user", request.messages().get(1).path("role").stringValue());
      assertContains(request.content(1), "Task: " + TASK);
      assertContains(request.content(1), "Scene: " + SCENE);
      assertContains(request.content(1), "Completed subgoals: none");
    }

    @Test
    void sendsNoKeyNorJsonModeWhenNotConfigured() throws PlanningException {
      server.then(completion(PLAN));

      plan(config().withApiKey("").withJsonResponseFormat(false).withMaxTokens(512));

      Received request = server.received().get(0);
      assertNull(request.header("Authorization"));
      assertFalse(request.body().has("response_format"));
      assertEquals(512, request.body().path("max_tokens").intValue());
    }

    @Test
    void aReplanTellsTheModelWhatWasDoneWhatFailedWhyAndTheGripper() throws PlanningException {
      server.then(completion(PLAN));
      List<PlannedSubgoal> done = List.of(new PlannedSubgoal("move to the red block", 30),
          new PlannedSubgoal("grasp the red block", 30));
      SubgoalFailure failure = new SubgoalFailure(new PlannedSubgoal("lift the block", 20),
          "the block slipped out of the gripper");

      try (OpenAiChatPlanner planner = planner(config())) {
        planner.plan(new PlanningRequest(TASK, SCENE, SKILLS, done, failure, 0.93));
      }

      String prompt = server.received().get(0).content(1);
      assertContains(prompt, "1. move to the red block\n2. grasp the red block\n");
      assertContains(prompt, "Failed subgoal: lift the block (budget 20 steps)");
      assertContains(prompt, "Failure reason: the block slipped out of the gripper");
      assertContains(prompt, "Gripper opening: 0.93");
    }
  }

  @Nested
  class Replies {
    @Test
    void acceptsAPlanInACodeFenceAmidProse() throws PlanningException {
      server.then(completion("Sure! Here is the plan {as JSON}:\n```json\n" + PLAN + "\n```\nGood luck."));

      assertEquals(5, plan(config()).subgoals().size());
      assertEquals(1, server.received().size());
    }

    @Test
    void aHallucinatedSkillIsSentBackWithTheErrorAndTheSkills() throws PlanningException {
      server.then(completion(HALLUCINATED), completion(PLAN));

      PlannedTask task = plan(config());

      assertEquals(5, task.subgoals().size());
      List<Received> requests = server.received();
      assertEquals(2, requests.size());
      Received retry = requests.get(1);
      assertEquals(4, retry.messages().size(), "system, user, the rejected reply, the correction");
      assertEquals("assistant", retry.messages().get(2).path("role").stringValue());
      assertEquals(HALLUCINATED, retry.content(2));
      assertEquals("user", retry.messages().get(3).path("role").stringValue());
      String correction = retry.content(3);
      assertContains(correction, "subgoals[1] \"grasp the purple block\" is not one of the policy's skills");
      for (String skill : SKILLS) {
        assertContains(correction, "- " + skill + "\n");
      }
    }

    @Test
    void hallucinatingPastTheCorrectionsIsAnInvalidReplyNamingTheLastError() {
      server.thenAlways(completion(HALLUCINATED));

      PlanningException e = planFails(config());

      assertEquals(PlanningException.Kind.INVALID_REPLY, e.kind());
      assertContains(e.getMessage(), "no valid plan in 3 replies");
      assertContains(e.getMessage(), "\"grasp the purple block\" is not one of the policy's skills");
      assertEquals(3, server.received().size(), "the first reply and two corrections");
    }

    @Test
    void malformedJsonIsCorrected() throws PlanningException {
      server.then(completion("{\"subgoals\": [{\"instruction\": \"move to the red block\",}]}"), completion(PLAN));

      assertEquals(5, plan(config()).subgoals().size());
      assertContains(server.received().get(1).content(3), "the reply is not valid JSON");
    }

    @Test
    void aReplyCutOffAtTheTokenLimitIsCorrected() throws PlanningException {
      server.then(completion("{\"subgoals\":[{\"instruction\":\"move to the red block\"},{\"instr", "length"),
          completion(PLAN));

      assertEquals(5, plan(config()).subgoals().size());
      assertContains(server.received().get(1).content(3), "cut off at the token limit");
    }

    @Test
    void aCutOffObjectIsNotMistakenForItsFirstSubgoal() throws PlanningException {
      server.then(completion("{\"subgoals\":[{\"instruction\":\"move to the red block\"},"
          + "{\"instruction\":\"grasp the red block\"}"), completion(PLAN));

      assertEquals(5, plan(config()).subgoals().size());
      String correction = server.received().get(1).content(3);
      assertContains(correction, "the reply is not valid JSON (Unexpected end-of-input");
      assertFalse(correction.contains("[Source"), "no parser internals: " + correction);
      assertFalse(correction.contains("no \"subgoals\""), correction);
    }

    @Test
    void wrongTypesAndAnEmptyPlanAreCorrected() throws PlanningException {
      server.then(
          completion("{\"subgoals\":[{\"instruction\":\"move to the red block\",\"max_steps\":\"ten\"},"
              + "\"grasp the red block\",{\"instruction\":7}]}"),
          completion("{\"subgoals\":[],\"rationale\":\"nothing to do\"}"),
          completion(PLAN));

      assertEquals(5, plan(config()).subgoals().size());
      String types = server.received().get(1).content(3);
      assertContains(types, "subgoals[0].max_steps is a string \"ten\"; expected a positive integer");
      assertContains(types, "subgoals[1] is a string \"grasp the red block\"; expected an object");
      assertContains(types, "subgoals[2].instruction is the number 7; expected a string");
      assertContains(server.received().get(2).content(5), "\"subgoals\" is empty");
    }

    @Test
    void aTaskTheModelCallsImpossibleIsUnsupported() {
      server.then(completion("{\"subgoals\":[],\"unsupported\":\"no skill opens drawers\"}"));

      PlanningException e = planFails(config());

      assertEquals(PlanningException.Kind.UNSUPPORTED_TASK, e.kind());
      assertContains(e.getMessage(), "no skill opens drawers");
      assertEquals(1, server.received().size());
    }
  }

  @Nested
  class Transport {
    @Test
    void aServerSlowerThanTheRequestTimeoutIsATimeoutAfterEveryAttempt() {
      server.thenAlways(ScriptedChatServer.stall(Stall.BEFORE_HEADERS));

      PlanningException e = planFails(config().withTimeouts(Duration.ofMillis(200), Duration.ofSeconds(2))
          .withRetries(2, Duration.ofMillis(100), Duration.ofSeconds(1)));

      assertEquals(PlanningException.Kind.TIMEOUT, e.kind());
      assertContains(e.getMessage(), "failed after 2 attempts: no reply within 200 ms");
      assertEquals(1, sleeps.size(), "one backoff between the two attempts");
    }

    @Test
    void aServerStallingInTheMiddleOfTheBodyIsATimeout() {
      server.thenAlways(ScriptedChatServer.stall(Stall.MID_BODY));

      PlanningException e = planFails(config().withTimeouts(Duration.ofMillis(200), Duration.ofSeconds(2))
          .withRetries(1, Duration.ofMillis(100), Duration.ofSeconds(1)));

      assertEquals(PlanningException.Kind.TIMEOUT, e.kind());
    }

    @Test
    void aServerErrorIsRetriedAfterAJitteredBackoff() throws PlanningException {
      server.then(error(500, "CUDA out of memory"), completion(PLAN));

      assertEquals(5, plan(config()).subgoals().size());

      assertEquals(2, server.received().size());
      assertEquals(1, sleeps.size());
      assertBetween(Duration.ofMillis(50), sleeps.get(0), Duration.ofMillis(100));
    }

    @Test
    void persistentServerErrorsAreUnavailableWithTheServersMessageAndDoublingBackoffs() {
      server.thenAlways(error(503, "the engine is still loading"));

      PlanningException e = planFails(config());

      assertEquals(PlanningException.Kind.UNAVAILABLE, e.kind());
      assertContains(e.getMessage(), "failed after 3 attempts: HTTP 503: the engine is still loading");
      assertEquals(3, server.received().size());
      assertEquals(2, sleeps.size());
      assertBetween(Duration.ofMillis(50), sleeps.get(0), Duration.ofMillis(100));
      assertBetween(Duration.ofMillis(100), sleeps.get(1), Duration.ofMillis(200));
    }

    @Test
    void tooManyRequestsWaitsForRetryAfterInSecondsOrAsADateBoundedByMaxBackoff() throws PlanningException {
      server.then(error(429, "slow down", Map.of("Retry-After", "2")),
          error(429, "slow down", Map.of("Retry-After", "Sat, 21 Nov 2026 08:00:03 GMT")),
          error(429, "slow down", Map.of("Retry-After", "3600")),
          completion(PLAN));

      plan(config().withRetries(4, Duration.ofMillis(100), Duration.ofSeconds(5)));

      assertEquals(List.of(Duration.ofSeconds(2), Duration.ofSeconds(3), Duration.ofSeconds(5)), sleeps);
    }

    @Test
    void aRejectedKeyIsUnavailableAtOnceWithoutShowingTheKey() {
      server.thenAlways(error(401, "Incorrect API key provided: " + KEY));

      PlanningException e = planFails(config());

      assertEquals(PlanningException.Kind.UNAVAILABLE, e.kind());
      assertContains(e.getMessage(), "HTTP 401");
      assertContains(e.getMessage(), "check the configured API key");
      assertFalse(e.getMessage().contains(KEY), e.getMessage());
      assertEquals(1, server.received().size(), "no retry");
      assertTrue(sleeps.isEmpty());
    }

    @Test
    void anotherClientErrorIsUnavailableWithTheServersMessage() {
      server.thenAlways(error(404, "The model `test-model` does not exist."));

      PlanningException e = planFails(config());

      assertEquals(PlanningException.Kind.UNAVAILABLE, e.kind());
      assertContains(e.getMessage(), "HTTP 404");
      assertContains(e.getMessage(), "The model `test-model` does not exist.");
      assertEquals(1, server.received().size());
    }

    @Test
    void aServerRejectingResponseFormatIsAskedWithoutItFromThenOn() throws PlanningException {
      server.then(error(400, "response_format is not supported by this model"), completion(PLAN), completion(PLAN));

      try (OpenAiChatPlanner planner = planner(config())) {
        planner.plan(PlanningRequest.initial(TASK, SCENE, SKILLS));
        planner.plan(PlanningRequest.initial(TASK, SCENE, SKILLS));
      }

      List<Received> requests = server.received();
      assertEquals(3, requests.size());
      assertTrue(requests.get(0).body().has("response_format"));
      assertFalse(requests.get(1).body().has("response_format"));
      assertFalse(requests.get(2).body().has("response_format"), "remembered for later plans");
      assertTrue(sleeps.isEmpty(), "not a transport failure");
    }

    @Test
    void aServerErrorAboutResponseFormatAlsoDropsIt() throws PlanningException {
      server.then(error(500, "response_format type must be one of \"text\" or \"json_schema\", but got: json_object"),
          completion(PLAN));

      plan(config());

      assertFalse(server.received().get(1).body().has("response_format"));
      assertTrue(sleeps.isEmpty(), "not a transport failure");
    }

    @Test
    void oneInstanceServesConcurrentCalls() throws Exception {
      server.thenAlways(completion(PLAN));
      try (OpenAiChatPlanner planner = planner(config());
          ExecutorService callers = Executors.newFixedThreadPool(4)) {
        List<Future<PlannedTask>> plans = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
          plans.add(callers.submit(() -> planner.plan(PlanningRequest.initial(TASK, SCENE, SKILLS))));
        }
        for (Future<PlannedTask> plan : plans) {
          assertEquals(5, plan.get().subgoals().size());
        }
      }
      assertEquals(12, server.received().size());
    }

    @Test
    void aRefusedConnectionIsUnavailableAfterEveryAttempt() throws IOException {
      int closedPort;
      try (ServerSocket socket = new ServerSocket(0)) {
        closedPort = socket.getLocalPort();
      }

      PlanningException e = planFails(OpenAiPlannerConfig.of(URI.create("http://127.0.0.1:" + closedPort + "/v1"),
          "test-model").withRetries(3, Duration.ofMillis(100), Duration.ofSeconds(1)));

      assertEquals(PlanningException.Kind.UNAVAILABLE, e.kind());
      assertContains(e.getMessage(), "failed after 3 attempts: cannot reach http://127.0.0.1:" + closedPort);
      assertEquals(2, sleeps.size());
    }
  }

  private static void assertBetween(Duration low, Duration actual, Duration high) {
    assertTrue(actual.compareTo(low) >= 0 && actual.compareTo(high) <= 0,
        () -> actual + " (expected: " + low + " .. " + high + ")");
  }
}
