-- wrk script: GET the paths listed in a file, one per line, in turn
-- (each thread starts at another place in the list).
--   wrk -t2 -c32 -d10s -s urls.lua http://127.0.0.1:7500 -- paths.txt
local paths = {}
local i = 0

function init(args)
	for line in io.lines(args[1]) do
		if line ~= "" then
			paths[#paths + 1] = line
		end
	end
	if #paths == 0 then
		error("no paths in " .. args[1])
	end
	i = math.random(#paths)
end

function request()
	i = i % #paths + 1
	return wrk.format("GET", paths[i])
end

-- Any status but 200 counts as an error in wrk's summary ("Non-2xx").
