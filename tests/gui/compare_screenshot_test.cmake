# Runs `statescope --screenshot --view compare --compare A,B,C` and checks that each PNG came out
# (the memory tab in cli-compare.png, the others in cli-compare-{loss,decay,probes}.png).
file(MAKE_DIRECTORY ${OUT})
set(names cli-compare cli-compare-loss cli-compare-decay cli-compare-probes)
foreach(n ${names})
  file(REMOVE ${OUT}/${n}.png)
endforeach()
file(REMOVE ${OUT}/compare-shot.db)
execute_process(COMMAND ${EXE} --screenshot ${OUT}/cli-compare.png --view compare --compare ${MODELS}
                        --prompt "The capital of France is" --max-new 24 --size 1500x950
                        --db ${OUT}/compare-shot.db
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
