-- wrk script: POST one new statement per request (a fresh UUID each time, so every
-- request is a real insert and a durable commit, never a no-op re-post).
-- Usage: wrk -t4 -c4 -d20s -s bench/single_post.lua http://127.0.0.1:PORT/xapi/statements
-- with the environment variable CPDFOLIO_BENCH_AUTH set to "Basic <base64 key:secret>".
local auth = os.getenv("CPDFOLIO_BENCH_AUTH")
local counter = 0

local function uuid4()
  local t = {}
  for i = 1, 16 do t[i] = math.random(0, 255) end
  t[7] = (t[7] % 16) + 64
  t[9] = (t[9] % 64) + 128
  local h = {}
  for i = 1, 16 do h[i] = string.format("%02x", t[i]) end
  return table.concat(h, "", 1, 4) .. "-" .. table.concat(h, "", 5, 6) .. "-" ..
         table.concat(h, "", 7, 8) .. "-" .. table.concat(h, "", 9, 10) .. "-" ..
         table.concat(h, "", 11, 16)
end

function setup(thread)
  thread:set("seed", math.random(1, 2 ^ 30))
end

function init(args)
  math.randomseed(seed)
end

request = function()
  counter = counter + 1
  local learner = math.random(0, 1999)
  local course = math.random(0, 999)
  local body = string.format([[{"id":"%s","actor":{"objectType":"Agent","name":"Learner %d","mbox":"mailto:learner%d@council%d.example.gov.uk"},"verb":{"id":"http://adlnet.gov/expapi/verbs/completed","display":{"en-GB":"completed"}},"object":{"objectType":"Activity","id":"https://learning.example.gov.uk/course/%d","definition":{"name":{"en-GB":"Course %d","cy":"Cwrs %d"},"description":{"en-GB":"A module of the management development programme"},"type":"http://adlnet.gov/expapi/activities/course"}},"result":{"score":{"scaled":0.8,"raw":80,"min":0,"max":100},"success":true,"completion":true,"duration":"PT2H10M"},"context":{"registration":"%s","contextActivities":{"parent":[{"id":"https://learning.example.gov.uk/programme/%d"}],"grouping":[{"id":"https://learning.example.gov.uk/catalogue"}]},"platform":"Council LMS","language":"en-GB","extensions":{"https://learning.example.gov.uk/ext/cohort":"2026-%d"}},"timestamp":"2026-05-14T10:00:00.000Z"}]],
    uuid4(), learner, learner, learner % 22, course, course, course, uuid4(), course % 40, learner % 12)
  return wrk.format("POST", nil, {
    ["Authorization"] = auth,
    ["X-Experience-API-Version"] = "1.0.3",
    ["Content-Type"] = "application/json",
  }, body)
end

response = function(status, headers, body)
  if status ~= 200 then
    io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n")
  end
end
