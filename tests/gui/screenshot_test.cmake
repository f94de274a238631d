# Runs `statescope --screenshot` for each view and checks that a PNG came out (8-byte signature).
# -DNAME=prefix of the PNGs (default cli), -DPROMPT=the message sent (default a story opening).
if(NOT DEFINED NAME)
  set(NAME cli)
endif()
if(NOT DEFINED PROMPT)
  set(PROMPT "Once upon a time there was a little fox who lived in the forest")
endif()
file(MAKE_DIRECTORY ${OUT})
set(db ${OUT}/${NAME}-shot.db)
foreach(view chat inspector inspector:delta inspector:decay inspector:retention inspector:receptive
        inspector:lyapunov inspector:state-norms inspector:attention inspector:lens)
  file(REMOVE ${db})  # one session per picture
  string(REPLACE ":" "-" name ${view})
  set(args --screenshot ${OUT}/${NAME}-${name}.png --model ${MODEL} --view ${view} --size 1100x700
      --db ${db})
  # both views get a conversation: the inspector's docks show the analyses of it
  list(APPEND args --prompt "${PROMPT}" --max-new 24)
  execute_process(COMMAND ${EXE} ${args} RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "statescope --screenshot (${view}) exited with ${rc}: ${err}")
  endif()
  file(READ ${OUT}/${NAME}-${name}.png head LIMIT 8 HEX)
  if(NOT head STREQUAL "89504e470d0a1a0a")
    message(FATAL_ERROR "${OUT}/${NAME}-${name}.png is not a PNG")
  endif()
endforeach()
