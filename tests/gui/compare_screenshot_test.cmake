# Runs `statescope --screenshot --view compare --compare A,B,C` and checks that each PNG came out
# (the memory tab in NAME-compare.png, the others in NAME-compare-{loss,decay,probes}.png).
# -DNAME=prefix of the PNGs (default cli), -DPROMPT=the prompt (default a short fact).
if(NOT DEFINED NAME)
  set(NAME cli)
endif()
if(NOT DEFINED PROMPT)
  set(PROMPT "The capital of France is")
endif()
file(MAKE_DIRECTORY ${OUT})
set(names ${NAME}-compare ${NAME}-compare-loss ${NAME}-compare-decay ${NAME}-compare-probes)
foreach(n ${names})
  file(REMOVE ${OUT}/${n}.png)
endforeach()
file(REMOVE ${OUT}/${NAME}-compare-shot.db)
execute_process(COMMAND ${EXE} --screenshot ${OUT}/${NAME}-compare.png --view compare --compare ${MODELS}
                        --prompt "${PROMPT}" --max-new 24 --size 1500x950
                        --db ${OUT}/${NAME}-compare-shot.db
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "statescope --screenshot --view compare exited with ${rc}: ${err}")
endif()
if(err MATCHES "failed:")
  message(FATAL_ERROR "a model failed in the comparison: ${err}")
endif()
foreach(n ${names})
  file(READ ${OUT}/${n}.png head LIMIT 8 HEX)
  if(NOT head STREQUAL "89504e470d0a1a0a")
    message(FATAL_ERROR "${OUT}/${n}.png is not a PNG")
  endif()
endforeach()
