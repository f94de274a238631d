# Runs `statescope --screenshot` for each view and checks that a PNG came out (8-byte signature).
file(MAKE_DIRECTORY ${OUT})
file(REMOVE ${OUT}/cli-chat.png ${OUT}/cli-inspector.png ${OUT}/shot.db)
foreach(view chat inspector inspector:delta inspector:decay inspector:retention inspector:receptive
        inspector:lyapunov inspector:state-norms inspector:attention inspector:lens)
  file(REMOVE ${OUT}/shot.db)  # one session per picture
  string(REPLACE ":" "-" name ${view})
  set(args --screenshot ${OUT}/cli-${name}.png --model ${MODEL} --view ${view} --size 1100x700
      --db ${OUT}/shot.db)
  # both views get a conversation: the inspector's docks show the analyses of it
  list(APPEND args --prompt "Once upon a time there was a little fox who lived in the forest" --max-new 24)
  execute_process(COMMAND ${EXE} ${args} RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "statescope --screenshot (${view}) exited with ${rc}: ${err}")
  endif()
  file(READ ${OUT}/cli-${name}.png head LIMIT 8 HEX)
  if(NOT head STREQUAL "89504e470d0a1a0a")
    message(FATAL_ERROR "${OUT}/cli-${name}.png is not a PNG")
  endif()
endforeach()
