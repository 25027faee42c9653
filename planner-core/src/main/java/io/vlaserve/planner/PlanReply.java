package io.vlaserve.planner;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectReader;
import tools.jackson.databind.json.JsonMapper;

/**
 * Reads a model's reply into a plan, or says exactly what is wrong with it so the model can be
 * asked again. Tolerates code fences and prose around the one JSON object; everything inside it is
 * checked strictly. Stateless and thread-safe.
 */
final class PlanReply {
  /** One object is read from where it starts; what follows it (a closing fence, prose) is ignored. */
  private static final ObjectReader READER = JsonMapper.builder().build().reader()
      .without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
  private static final Pattern SOURCE_LOCATION = Pattern.compile("\\s*\\(start marker at \\[Source:[^\\]]*\\]\\)");
  /** Bounds the search for an object start in prose full of braces. */
  private static final int MAX_OBJECT_STARTS = 16;

  /** The reply cannot become a plan; the message is what the model is told. */
  static final class InvalidPlanException extends Exception {
    InvalidPlanException(String message) {
      super(message);
    }
  }

  private PlanReply() {}

  /**
   * @param content the assistant message's content (may be null)
   * @param finishReason the choice's finish_reason (may be null)
   * @throws InvalidPlanException if the model should be asked again
   * @throws PlanningException with {@link PlanningException.Kind#UNSUPPORTED_TASK} if the model
   *     says the task cannot be done with the skills
   */
  static PlannedTask parse(String content, String finishReason, SkillLibrary library, String planner)
      throws InvalidPlanException, PlanningException {
    if ("length".equals(finishReason)) {
      throw new InvalidPlanException("the reply was cut off at the token limit (finish_reason \"length\"); "
          + "answer with a shorter JSON object");
    }
    if (content == null || content.isBlank()) {
      throw new InvalidPlanException("the reply was empty; expected a JSON object");
    }
    JsonNode root = firstObject(content);
    JsonNode subgoals = root.get("subgoals");
    if (subgoals == null || subgoals.isNull()) {
      throw new InvalidPlanException("the JSON object has no \"subgoals\" array");
    }
    if (!subgoals.isArray()) {
      throw new InvalidPlanException("\"subgoals\" is " + describe(subgoals) + "; expected an array");
    }
    if (subgoals.isEmpty()) {
      JsonNode unsupported = root.get("unsupported");
      if (unsupported != null && unsupported.isString() && !unsupported.stringValue().isBlank()) {
        throw new PlanningException(PlanningException.Kind.UNSUPPORTED_TASK,
            planner + " says the task cannot be done with the policy's skills: " + unsupported.stringValue().strip());
      }
      throw new InvalidPlanException("\"subgoals\" is empty; a plan needs at least one subgoal");
    }
    List<PlannedSubgoal> planned = new ArrayList<>();
    List<String> errors = new ArrayList<>();
    for (int i = 0; i < subgoals.size(); i++) {
      JsonNode subgoal = subgoals.get(i);
      String where = "subgoals[" + i + "]";
      if (!subgoal.isObject()) {
        errors.add(where + " is " + describe(subgoal) + "; expected an object with \"instruction\"");
        continue;
      }
      JsonNode instruction = subgoal.get("instruction");
      if (instruction == null || !instruction.isString()) {
        errors.add(where + ".instruction is " + describe(instruction) + "; expected a string");
        continue;
      }
      int steps;
      try {
        steps = maxSteps(subgoal.get("max_steps"), where);
      } catch (InvalidPlanException e) {
        errors.add(e.getMessage());
        continue;
      }
      library.validate(instruction.stringValue(), steps).ifPresentOrElse(planned::add,
          () -> errors.add(where + " \"" + instruction.stringValue() + "\" is not one of the policy's skills"));
    }
    if (!errors.isEmpty()) {
      throw new InvalidPlanException(String.join("; ", errors));
    }
    JsonNode rationale = root.get("rationale");
    String why = rationale != null && rationale.isString() && !rationale.stringValue().isBlank()
        ? rationale.stringValue().strip() : "planned by " + planner;
    return new PlannedTask(planned, planner, why);
  }

  /**
   * The plan object in the text: the reply itself, inside a fence, or amid prose. An inner object
   * (one subgoal of a cut-off plan) is not mistaken for the plan.
   */
  private static JsonNode firstObject(String content) throws InvalidPlanException {
    String firstError = null;
    JsonNode firstObject = null;
    int start = content.indexOf('{');
    for (int tries = 0; start >= 0 && tries < MAX_OBJECT_STARTS; tries++) {
      try {
        JsonNode node = READER.readTree(content.substring(start));
        if (node != null && node.isObject()) {
          if (node.has("subgoals")) {
            return node;
          }
          if (firstObject == null && firstError == null) {
            firstObject = node;
          }
        }
      } catch (JacksonException e) {
        if (firstError == null) {
          firstError = e.getOriginalMessage();
        }
      }
      start = content.indexOf('{', start + 1);
    }
    if (firstObject != null) {
      return firstObject;
    }
    if (firstError == null) {
      throw new InvalidPlanException("the reply contains no JSON object");
    }
    throw new InvalidPlanException("the reply is not valid JSON (" + withoutSource(firstError) + ")");
  }

  private static int maxSteps(JsonNode node, String where) throws InvalidPlanException {
    if (node == null || node.isNull()) {
      return 0;
    }
    if (!node.isNumber() || !node.canConvertToExactIntegral() || !node.canConvertToInt() || node.asInt() <= 0) {
      throw new InvalidPlanException(where + ".max_steps is " + describe(node) + "; expected a positive integer");
    }
    return node.asInt();
  }

  private static String describe(JsonNode node) {
    if (node == null || node.isMissingNode()) {
      return "missing";
    }
    String json = node.toString();
    String shown = json.length() > 60 ? json.substring(0, 57) + "..." : json;
    return switch (node.getNodeType()) {
      case ARRAY -> "an array " + shown;
      case OBJECT -> "an object " + shown;
      case STRING -> "a string " + shown;
      case NUMBER -> "the number " + shown;
      case BOOLEAN -> "the boolean " + shown;
      case NULL -> "null";
      default -> shown;
    };
  }

  /** Jackson's message without its source location, which means nothing to the model. */
  private static String withoutSource(String message) {
    int newline = message.indexOf('\n');
    String line = newline < 0 ? message : message.substring(0, newline);
    return SOURCE_LOCATION.matcher(line).replaceAll("");
  }
}
